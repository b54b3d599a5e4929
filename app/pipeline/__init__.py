"""The durable pipeline: a DBOS workflow per run, a step per stage, one queue of tickets."""
