"""Jira wiki markup (what system webhooks send in `description`) → Markdown.

Best effort and line based, like Jira's own renderer. Code and noformat blocks and `{{monospace}}`
are cut out first and put back untouched, so nothing inside them is reformatted. Every pattern is
anchored on a delimiter it cannot cross, so the work stays linear even on hostile text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from app.jira.text import code_span, fence, link, quote

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Stripped from the input so the placeholders below (NUL, SOH) cannot be forged."""
_BLOCK_OPEN = re.compile(r"\{(code|noformat)(?::([^}\n]*))?\}")
_BLOCK_REF = re.compile("\x00([0-9]+)\x00")
_INLINE_REF = re.compile("\x01([0-9]+)\x01")
_QUOTE = re.compile(r"\{quote\}")
_PANEL = re.compile(r"\{panel(?::([^}\n]*))?\}")
_DROPPED_MACROS = re.compile(r"\{(?:color(?::[^}\n]*)?|anchor:[^}\n]*|section|column[^}\n]*)\}")

_HEADING = re.compile(r"h([1-6])\.(?:\s+(.*))?")
_BLOCKQUOTE = re.compile(r"bq\.\s+(.*)")
_RULE = re.compile(r"-{4,}")
_LIST_ITEM = re.compile(r"\s*([*#]+|-)\s+(.*)")
_LINK = re.compile(r"\[([^\[\]\n]+)\]")
_IMAGE = re.compile(
    r"!([^\s!|][^!|\n]*\.(?:png|jpe?g|gif|svg|bmp|webp)|https?://[^\s!|]+)(?:\|[^!\n]*)?!",
    re.IGNORECASE,
)
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s\[\]|<>\"]+")
_URL_LIKE = re.compile(r"(?:https?|ftp|file|mailto):\S+", re.IGNORECASE)


def _emphasis(char: str) -> re.Pattern[str]:
    """`<c>text<c>` where text starts and ends with a non-space and the markers are not in words."""
    c = re.escape(char)
    return re.compile(rf"(?<![\w{c}]){c}([^\s{c}](?:[^{c}\n]*[^\s{c}])?){c}(?![\w{c}])")


_EMPHASIS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("*", _emphasis("*"), r"**\1**"),
    ("_", _emphasis("_"), r"*\1*"),
    ("-", _emphasis("-"), r"~~\1~~"),
    ("+", _emphasis("+"), r"\1"),  # underline has no Markdown form
    ("^", _emphasis("^"), r"\1"),  # superscript
    ("~", _emphasis("~"), r"\1"),  # subscript; `~x~` would read as strike-through in Markdown
    ("??", re.compile(r"\?\?([^\s?](?:[^?\n]*[^\s?])?)\?\?"), r"*\1*"),  # citation
)


def wiki_to_markdown(text: str) -> str:
    """Convert Jira wiki markup to Markdown (not sanitised: `to_markdown` does that)."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks: list[str] = []
    text = _cut_code_blocks(text, blocks)
    text = _DROPPED_MACROS.sub("", text)
    text = _PANEL.sub(_panel, text)
    out: list[str] = []
    for index, segment in enumerate(_QUOTE.split(text)):
        markdown = _convert_lines(segment.strip("\n"))
        markdown = _BLOCK_REF.sub(lambda m: blocks[int(m.group(1))], markdown)
        if not markdown.strip():
            continue
        out.append(quote(markdown) if index % 2 else markdown)
    return "\n\n".join(out)


def _cut_code_blocks(text: str, blocks: list[str]) -> str:
    """Replace `{code}`/`{noformat}` blocks by placeholder lines; their fenced form goes to blocks.

    The closing tag is the same as a bare opening tag, so once one kind has no closing tag left,
    no later opener of that kind can have one either: an unclosed opener stays literal text.
    """
    out: list[str] = []
    pos = search_from = 0
    exhausted: set[str] = set()
    while match := _BLOCK_OPEN.search(text, search_from):
        kind = match.group(1)
        search_from = match.end()
        if kind in exhausted:
            continue
        close = text.find("{" + kind + "}", match.end())
        if close == -1:
            exhausted.add(kind)
            continue
        body = text[match.end() : close].strip("\n")
        language = _code_language(match.group(2) or "") if kind == "code" else ""
        out.append(text[pos : match.start()])
        out.append(f"\n\x00{len(blocks)}\x00\n")
        blocks.append(fence(body, language))
        pos = search_from = close + len(kind) + 2
    out.append(text[pos:])
    return "".join(out)


def _code_language(params: str) -> str:
    """`{code:java}`, `{code:language=java|title=X}`, `{code:title=X|borderStyle=solid}`."""
    for param in params.split("|"):
        name, sep, value = param.partition("=")
        if not sep:
            return name.strip()
        if name.strip().lower() == "language":
            return value.strip()
    return ""


def _panel(match: re.Match[str]) -> str:
    for param in (match.group(1) or "").split("|"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "title" and value.strip():
            return f"\n**{value.strip()}**\n"
    return ""


def _convert_lines(text: str) -> str:
    out: list[str] = []
    lists: list[tuple[str, int, int]] = []  # per nesting level: marker char, counter, indent
    previous = ""  # "list" or "table" while one is open
    markdown_fence = ""  # a ``` fence someone wrote in Markdown: its lines stay untouched
    for raw in text.split("\n"):
        line = raw.rstrip()
        stripped = line.lstrip()
        if markdown_fence or stripped.startswith("```"):
            if not markdown_fence:
                markdown_fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
            elif stripped.startswith(markdown_fence) and not stripped.strip("`"):
                markdown_fence = ""
            out.append(line)
            lists.clear()
            previous = ""
            continue
        item = _LIST_ITEM.fullmatch(line)
        kind = "list" if item else "table" if stripped.startswith("|") else ""
        if previous and kind != previous and stripped:
            out.append("")  # else Markdown would continue the list item or table row
        if not item:
            lists.clear()
        if item:
            out.append(_list_line(item.group(1), _inline(item.group(2)), lists))
        elif kind == "table":
            header, cells = _table_cells(stripped)
            if previous != "table":
                if out and out[-1]:
                    out.append("")
                out.append(_row(cells if header else [""] * len(cells)))
                out.append(_row(["---"] * len(cells)))
            if previous == "table" or not header:
                out.append(_row(cells))
        elif heading := _HEADING.fullmatch(stripped):
            out.append("#" * int(heading.group(1)) + " " + _inline(heading.group(2) or ""))
        elif bq := _BLOCKQUOTE.fullmatch(stripped):
            out.append("> " + _inline(bq.group(1)))
        elif _RULE.fullmatch(stripped):
            if out and out[-1]:
                out.append("")  # else "text\n---" reads as a heading
            out.append("---")
        else:
            out.append(_inline(line))
        previous = kind
    return "\n".join(out)


def _list_line(markers: str, content: str, lists: list[tuple[str, int, int]]) -> str:
    """One list item; `lists` carries counters and indents of the enclosing levels."""
    markers = "*" if markers == "-" else markers
    depth = len(markers)
    del lists[depth:]
    while len(lists) < depth - 1:  # a level skipped in the markup: open it implicitly
        char = markers[len(lists)]
        lists.append((char, 0, _indent_of(lists) + 2))
    char = markers[-1]
    counter = lists[-1][1] + 1 if len(lists) == depth and lists[-1][0] == char else 1
    del lists[depth - 1 :]
    marker = f"{counter}." if char == "#" else "-"
    indent = _indent_of(lists)
    lists.append((char, counter, indent + len(marker) + 1))
    return " " * indent + f"{marker} {content}".rstrip()


def _indent_of(lists: list[tuple[str, int, int]]) -> int:
    return lists[-1][2] if lists else 0


def _table_cells(line: str) -> tuple[bool, list[str]]:
    store: list[str] = []
    protected = _protect(line, store)
    header = protected.startswith("||")
    body = re.sub(r"^\|\|?|\|\|?$", "", protected)
    cells = []
    for cell in re.split(r"\|\|?", body):
        rendered = _restore(_format(cell.strip()), store).replace("\n", " ")
        cells.append(rendered.replace("|", "\\|"))
    return header, cells


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _inline(text: str) -> str:
    store: list[str] = []
    return _restore(_format(_protect(text, store)), store)


def _protect(text: str, store: list[str]) -> str:
    """Swap monospace, links, images and URLs for placeholders, so emphasis rules skip them."""

    def keep(markdown: str) -> str:
        store.append(_restore(markdown, store))  # a link label may hold monospace already kept
        return f"\x01{len(store) - 1}\x01"

    text = _pairs(text, "{{", "}}", lambda code: keep(code_span(code)))
    text = _IMAGE.sub(lambda m: keep(f"[image: {m.group(1)}]"), text)
    text = _LINK.sub(lambda m: _link(m, keep), text)
    return _BARE_URL.sub(lambda m: keep(m.group(0)), text)


def _pairs(text: str, opener: str, closer: str, replace: Callable[[str], str]) -> str:
    """Replace `opener ... closer` pairs on one line; linear, unlike a lazy regex."""
    out: list[str] = []
    pos = 0
    while (start := text.find(opener, pos)) != -1:
        end = text.find(closer, start + len(opener))
        if end == -1:
            break
        out.append(text[pos:start])
        out.append(replace(text[start + len(opener) : end]))
        pos = end + len(closer)
    out.append(text[pos:])
    return "".join(out)


def _link(match: re.Match[str], keep: Callable[[str], str]) -> str:
    inner = match.group(1)
    if "|" in inner:
        label, _, target = inner.partition("|")
        target = target.partition("|")[0].strip()  # [text|url|tooltip]
        if _URL_LIKE.match(target) or target.startswith(("/", "#")):
            return keep(link(_format(label.strip()), target))
        return keep(f"{label.strip()} ({target})" if target else label.strip())
    if inner.startswith("~"):  # [~accountid:5b10...] or [~username]
        return keep("@" + inner[1:].removeprefix("accountid:").strip())
    if inner.startswith("^"):  # attachment
        return keep(f"[attachment: {inner[1:].strip()}]")
    if inner.startswith("#"):  # anchor
        return keep(inner[1:].strip())
    if _URL_LIKE.fullmatch(inner.strip()):
        return keep(link("", inner.strip()))
    return match.group(0)  # plain brackets such as "[WIP]"


def _format(text: str) -> str:
    text = text.replace("\\\\", "\n")  # forced line break
    for marker, pattern, replacement in _EMPHASIS:
        if marker in text:
            text = pattern.sub(replacement, text)
    return text


def _restore(text: str, store: list[str]) -> str:
    return _INLINE_REF.sub(lambda m: store[int(m.group(1))], text)
