"""ADF nodes rendered from their own text and attributes, with no children to walk: text with
its marks, mentions, status lozenges, dates, cards, media and code blocks.

Every value is untrusted: an attribute that is missing or of the wrong type renders as nothing
(or a default), never as an error. The tree walk that calls these is `app.jira.adf`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.jira.text import code_span, fence, link

Node = dict[object, object]
Attrs = dict[object, object]
Content = list[object]


def attr(attrs: Attrs, *names: str) -> str:
    """The first of `names` that is a non-empty string in attrs."""
    for name in names:
        value = attrs.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def int_attr(attrs: Attrs, name: str, default: int, low: int, high: int) -> int:
    value = attrs.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return default


def marked_text(node: Node, *_: object) -> str:
    text = node.get("text")
    if not isinstance(text, str) or not text:
        return ""
    marks = node.get("marks")
    kinds: set[str] = set()
    href = ""
    for mark in marks if isinstance(marks, list) else []:
        if not isinstance(mark, dict) or not isinstance(mark.get("type"), str):
            continue
        kinds.add(str(mark["type"]))
        mark_attrs = mark.get("attrs")
        if mark["type"] == "link" and isinstance(mark_attrs, dict):
            url = mark_attrs.get("href")
            href = url if isinstance(url, str) else ""
    core = text.strip()
    if not core or not kinds:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    if "code" in kinds:
        core = code_span(core)
    if "strike" in kinds:
        core = f"~~{core}~~"
    if "em" in kinds:
        core = f"*{core}*"
    if "strong" in kinds:
        core = f"**{core}**"
    if href:
        core = link(core, href)
    return lead + core + trail


def code_block(_n: Node, attrs: Attrs, content: Content, *_: object) -> str:
    code = "".join(
        str(child["text"])
        for child in content
        if isinstance(child, dict) and isinstance(child.get("text"), str)
    )
    return fence(code, attr(attrs, "language"))


def media(_n: Node, attrs: Attrs, *_: object) -> str:
    name = attr(attrs, "alt", "url", "id")
    return f"[attachment: {name}]" if name else "[attachment]"


def card(_n: Node, attrs: Attrs, *_: object) -> str:
    url = attr(attrs, "url")
    data = attrs.get("data")
    if not url and isinstance(data, dict):
        url = attr(data, "url")
    return link("", url) if url else ""


def date(_n: Node, attrs: Attrs, *_: object) -> str:
    stamp = attrs.get("timestamp")
    try:
        seconds = int(str(stamp)) / 1000
        return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):  # int(str(x)) of >4300 digits is a ValueError
        return stamp if isinstance(stamp, str) else ""


def mention(_n: Node, attrs: Attrs, *_: object) -> str:
    name = attr(attrs, "text", "id")
    return "@" + name.lstrip("@") if name else ""


def status(_n: Node, attrs: Attrs, *_: object) -> str:
    text = attr(attrs, "text")
    return f"[{text}]" if text else ""
