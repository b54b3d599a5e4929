"""Benchmarks: how fast the service acknowledges, sets up, reaches the model, and what it adds.

    make bench                 # all of them, in order
    make bench BENCH="ack"     # some of them: ack repo_setup first_token overhead concurrency

Each prints its figures and appends them to bench/RESULTS.md with the machine they ran on
(cores, memory, load average before the run). They use the same real parts as the end-to-end
tests (tests/e2e/world.py: the real service and Claude CLI, the scripted model, real git, the gh
shim) and write their scratch files under bench/out/. They are not part of the test suite.
"""
