"""The internal job: a validated ticket, as the pipeline and the agent see it."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]+-[1-9][0-9]*$")
MAX_SUMMARY_LENGTH = 1000


class Ticket(BaseModel):
    """A ticket that passed validation: its key is safe in a branch name and a path."""

    model_config = ConfigDict(frozen=True)

    key: str
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY_LENGTH)
    description: str = ""
    """Markdown, converted from wiki markup or ADF."""
    labels: tuple[str, ...] = ()
    url: str | None = None

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        if not KEY_PATTERN.fullmatch(value):
            raise ValueError("must look like PROJ-123 (upper-case project, dash, number)")
        return value

    @field_validator("summary")
    @classmethod
    def _strip_summary(cls, value: str) -> str:
        return " ".join(value.split())

    @property
    def project(self) -> str:
        return self.key.rsplit("-", 1)[0]

    @property
    def branch(self) -> str:
        return f"ticket/{self.key.lower()}"
