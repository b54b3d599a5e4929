"""Secret values replaced in text and in records before they are stored, shown or sent on.

Used where text that the service did not write can carry a secret: what an agent session
returns, command output kept on the run record, a diff shown to the reviewer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MIN_SECRET_LENGTH = 8
"""Shorter values are left alone: they would match ordinary text."""
REDACTED = "[redacted]"


def searchable(secrets: Iterable[str]) -> list[str]:
    """The values worth looking for, longest first (so a value inside another is found)."""
    return sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in searchable(secrets):
        text = text.replace(secret, REDACTED)
    return text


def redact_data(value: Any, secrets: list[str]) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string redacted."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: redact_data(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_data(item, secrets) for item in value]
    return value
