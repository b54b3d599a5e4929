"""The HTTP edge: the Jira webhook, run status, health."""
