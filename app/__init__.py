"""auto-code: Jira tickets to reviewed, linted, tested pull requests."""

__version__ = "0.2.0"
