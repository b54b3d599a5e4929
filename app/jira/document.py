"""What auto-code writes to Jira, as a few blocks rendered for either kind of Jira.

Jira Cloud's REST v3 takes the Atlassian Document Format (ADF, a JSON tree); Data Center's
REST v2 takes wiki markup (a string). A comment is built once from these blocks and rendered for
the Jira the service talks to, so both say the same thing.

Only what the comments need: paragraphs of spans (plain, strong, code, each optionally a link),
bullet lists, quoted prose and preformatted text. Text is never taken as markup: ADF puts it in
text nodes; wiki markup escapes every character the wiki renderer gives a meaning to, and puts
multi-line technical text in `{noformat}`, which renders its content as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Style = Literal["plain", "strong", "code"]

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
"""Control characters (except tab and newline): Jira rejects or mangles them."""
_WIKI_SPECIAL = re.compile(r"([*_\-+^~{}\[\]|!#?])")
_WIKI_LINE_MACRO = re.compile(r"^(\s*)([hb])(?=(?<=h)[1-6]\.|(?<=b)q\.)", re.MULTILINE)
_ENTITY = {"h": "&#104;", "b": "&#98;"}


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = "plain"
    href: str | None = None


@dataclass(frozen=True)
class Paragraph:
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Span, ...], ...]


@dataclass(frozen=True)
class Quote:
    """Prose written by someone else (the agent): paragraphs separated by blank lines."""

    text: str


@dataclass(frozen=True)
class Preformatted:
    """Technical text shown as it is: an error message, a command."""

    text: str


Block = Paragraph | Bullets | Quote | Preformatted


def para(*spans: Span | str) -> Paragraph:
    return Paragraph(tuple(Span(s) if isinstance(s, str) else s for s in spans))


def strong(text: str) -> Span:
    return Span(text, "strong")


def code(text: str) -> Span:
    return Span(text, "code")


def link(text: str, href: str) -> Span:
    return Span(text, href=href)


def clean(text: str) -> str:
    """Text without control characters and with Unix line ends."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


# --- ADF (REST v3) ---------------------------------------------------------------------------


def to_adf(blocks: list[Block]) -> dict[str, Any]:
    """An ADF document (`{"type": "doc", "version": 1, ...}`) for a comment body."""
    content = [node for block in blocks for node in _adf_block(block)]
    return {"type": "doc", "version": 1, "content": content}


def _adf_block(block: Block) -> list[dict[str, Any]]:
    if isinstance(block, Paragraph):
        inline = [node for span in block.spans for node in _adf_inline(span)]
        return [{"type": "paragraph", "content": inline}] if inline else []
    if isinstance(block, Bullets):
        items = []
        for spans in block.items:
            inline = [node for span in spans for node in _adf_inline(span)]
            if inline:
                paragraph = {"type": "paragraph", "content": inline}
                items.append({"type": "listItem", "content": [paragraph]})
        return [{"type": "bulletList", "content": items}] if items else []
    if isinstance(block, Quote):
        paragraphs = [
            {"type": "paragraph", "content": inline}
            for part in _paragraphs(block.text)
            if (inline := _adf_inline(Span(part)))
        ]
        return [{"type": "blockquote", "content": paragraphs}] if paragraphs else []
    text = clean(block.text).strip("\n")
    if not text.strip():
        return []
    return [{"type": "codeBlock", "content": [{"type": "text", "text": text}]}]


def _adf_inline(span: Span) -> list[dict[str, Any]]:
    """Text nodes for a span; its line breaks become `hardBreak` nodes (ADF text has none)."""
    marks: list[dict[str, Any]] = []
    if span.style != "plain":
        marks.append({"type": span.style})
    if span.href:
        marks.append({"type": "link", "attrs": {"href": span.href}})
    nodes: list[dict[str, Any]] = []
    for index, line in enumerate(clean(span.text).split("\n")):
        if index:
            nodes.append({"type": "hardBreak"})
        if line:
            nodes.append({"type": "text", "text": line, **({"marks": marks} if marks else {})})
    while nodes and nodes[-1]["type"] == "hardBreak":
        nodes.pop()
    return nodes


def _paragraphs(text: str) -> list[str]:
    return [part.strip("\n") for part in re.split(r"\n\s*\n", clean(text)) if part.strip()]


# --- wiki markup (REST v2) -------------------------------------------------------------------


def to_wiki(blocks: list[Block]) -> str:
    """Jira wiki markup for a comment body: blocks separated by blank lines."""
    return "\n\n".join(part for block in blocks if (part := _wiki_block(block)))


def _wiki_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return "".join(_wiki_inline(span) for span in block.spans).strip()
    if isinstance(block, Bullets):
        items = ["".join(_wiki_inline(span) for span in spans).strip() for spans in block.items]
        return "\n".join(f"* {item}" for item in items if item)
    if isinstance(block, Quote):
        paragraphs = [_escape(part) for part in _paragraphs(block.text)]
        return "{quote}\n" + "\n\n".join(paragraphs) + "\n{quote}" if paragraphs else ""
    text = clean(block.text).strip("\n").replace("{noformat}", "{ noformat}")
    return "{noformat}\n" + text + "\n{noformat}" if text.strip() else ""


def _wiki_inline(span: Span) -> str:
    """A span; line breaks stay in plain text (Jira breaks the line there), not inside markup."""
    text = clean(span.text)
    if span.style != "plain" or span.href:
        text = " ".join(text.split("\n"))
    if not text.strip():
        return text
    rendered = _escape(text)
    if span.style == "strong":
        rendered = f"*{rendered}*"
    elif span.style == "code":
        rendered = "{{" + rendered + "}}"
    if span.href:
        rendered = f"[{rendered}|{span.href.replace('|', '%7C').replace(']', '%5D')}]"
    return rendered


def _escape(text: str) -> str:
    r"""Text that renders as itself: every markup character backslash-escaped.

    A backslash cannot escape itself (`\\` is a forced line break), so it becomes the entity
    `&#92;`. `h1.` or `bq.` opening a line would make it a heading or a quote, so its first
    letter becomes an entity too.
    """
    parts = [_WIKI_SPECIAL.sub(r"\\\1", part) for part in clean(text).split("\\")]
    text = "&#92;".join(parts)
    return _WIKI_LINE_MACRO.sub(lambda m: m.group(1) + _ENTITY[m.group(2)], text)
