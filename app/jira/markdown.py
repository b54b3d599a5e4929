"""A Jira description, whatever its format, as sanitised Markdown for the prompt and the PR."""

from __future__ import annotations

import json

from app.jira.adf import adf_to_markdown
from app.jira.text import plain_text, sanitize_text
from app.jira.wiki import wiki_to_markdown


def to_markdown(description: object) -> str:
    """Convert a Jira `description` to Markdown; never raises.

    - `None` (Jira sends null for an empty description) → `""`.
    - a string → wiki markup (system webhooks, REST v2), unless it is a serialised ADF document
      (Automation smart values such as `{{issue.description.jsonEncode}}` can produce one);
    - a dict → an ADF document (REST v3, some Automation bodies); a list → ADF nodes;
    - anything else → `""`.

    The result is always passed through `sanitize_text`: ticket text is untrusted prompt input.
    The converters are written not to fail on malformed input; should one fail anyway, the text
    is returned unconverted rather than losing the ticket.
    """
    if isinstance(description, str):
        document = _adf_in_string(description)
        source: object = description if document is None else document
    elif isinstance(description, dict | list):
        source = description
    else:
        return ""
    try:
        markdown = wiki_to_markdown(source) if isinstance(source, str) else adf_to_markdown(source)
    except Exception:  # last resort for a converter bug: keep the words, lose the formatting
        markdown = source if isinstance(source, str) else plain_text(source)
    return sanitize_text(markdown)


def _adf_in_string(text: str) -> dict[str, object] | None:
    """The ADF document serialised in `text`, or None when it is (as usual) wiki markup."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}") and '"doc"' in stripped):
        return None
    try:
        document = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if isinstance(document, dict) and document.get("type") == "doc":
        return document
    return None
