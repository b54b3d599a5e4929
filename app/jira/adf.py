"""Atlassian Document Format (REST v3 and some Automation bodies) → Markdown.

The document is untrusted JSON: every field may be missing or of the wrong type. Unknown node
types render their children (or their `text`), so a new Atlassian node type degrades to plain text.
Depth is capped (`MAX_DEPTH`, then plain text without recursion) and so is the number of nodes
rendered (`MAX_NODES`), so a hostile document cannot exhaust the stack or the CPU. This module
walks the tree and lays out blocks; nodes without children to walk are in `app.jira.adf_leaves`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.jira import adf_leaves
from app.jira.adf_leaves import Attrs, Content, Node
from app.jira.text import plain_text, quote

MAX_DEPTH = 48
MAX_NODES = 50_000

_INLINE_TYPES = frozenset(
    {"text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date", "mediaInline"}
    | {"inlineExtension", "placeholder"}
)


@dataclass
class _Budget:
    nodes: int = 0


Handler = Callable[[Node, Attrs, Content, _Budget, int], str]


def adf_to_markdown(document: object) -> str:
    """Render an ADF document (or a bare list of nodes) as Markdown; never raises on bad input."""
    budget = _Budget()
    if isinstance(document, list):
        markdown = _children(document, budget, 0)
    else:
        markdown = _render(document, budget, 0)
    return markdown + "\n\n[…]" if budget.nodes > MAX_NODES else markdown


def _render(node: object, budget: _Budget, depth: int) -> str:
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        return ""
    if depth > MAX_DEPTH:
        return plain_text(node)
    kind = node.get("type")
    attrs = node.get("attrs")
    attrs = attrs if isinstance(attrs, dict) else {}
    content = node.get("content")
    content = content if isinstance(content, list) else []
    handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        return handler(node, attrs, content, budget, depth + 1)
    if content:
        return _children(content, budget, depth + 1)
    text = node.get("text")
    return text if isinstance(text, str) else ""


def _is_inline(node: object) -> bool:
    if not isinstance(node, dict):
        return isinstance(node, str)
    kind = node.get("type")
    kind = kind if isinstance(kind, str) else ""
    unknown_leaf = kind not in _HANDLERS and "text" in node and "content" not in node
    return kind in _INLINE_TYPES or unknown_leaf


def _children(content: list[object], budget: _Budget, depth: int) -> str:
    """Block children separated by blank lines; runs of inline children form one paragraph."""
    blocks: list[str] = []
    run: list[str] = []
    for child in content:
        if _is_inline(child):
            run.append(_render(child, budget, depth))
            continue
        if run:
            blocks.append("".join(run))
            run = []
        blocks.append(_render(child, budget, depth))
    if run:
        blocks.append("".join(run))
    return "\n\n".join(block for block in blocks if block.strip())


def _inline(content: Content, budget: _Budget, depth: int) -> str:
    out = ""
    for child in content:
        part = _render(child, budget, depth)
        card = isinstance(child, dict) and child.get("type") in ("inlineCard", "blockCard")
        if card and part and out and not out[-1].isspace():
            out += " "  # a card follows text directly in ADF; its URL must not stick to a word
        out += part
    return out


def _heading(_n: Node, attrs: Attrs, content: Content, b: _Budget, d: int) -> str:
    level = adf_leaves.int_attr(attrs, "level", 1, 1, 6)
    return "#" * level + " " + _inline(content, b, d).replace("\n", " ").strip()


def _list(node: Node, attrs: Attrs, content: Content, b: _Budget, d: int) -> str:
    ordered = node.get("type") == "orderedList"
    number = adf_leaves.int_attr(attrs, "order", 1, 0, 999_999)
    items = []
    for child in content:
        if isinstance(child, dict) and child.get("type") == "listItem":
            inner = child.get("content")
            body = _lines(inner if isinstance(inner, list) else [], b, d + 1)
        else:
            body = _render(child, b, d)
        marker = f"{number}." if ordered else "-"
        number += 1
        items.append(_hang(marker, body))
    return "\n".join(items)


def _task_list(_n: Node, _a: Attrs, content: Content, b: _Budget, d: int) -> str:
    items = []
    for child in content:
        kind = child.get("type") if isinstance(child, dict) else None
        if isinstance(child, dict) and kind in ("taskItem", "decisionItem"):
            child_attrs = child.get("attrs")
            done = isinstance(child_attrs, dict) and child_attrs.get("state") == "DONE"
            marker = "-" if kind == "decisionItem" else "- [x]" if done else "- [ ]"
            inner = child.get("content")
            items.append(_hang(marker, _inline(inner if isinstance(inner, list) else [], b, d + 1)))
        else:
            items.append(_hang("", _render(child, b, d)))  # a nested task list
    return "\n".join(items)


def _lines(content: Content, budget: _Budget, depth: int) -> str:
    """Blocks one per line: keeps a list item tight, media one per line."""
    return "\n".join(part for part in (_render(c, budget, depth) for c in content) if part.strip())


def _hang(marker: str, body: str) -> str:
    """`marker body`, with continuation lines indented under the body."""
    pad = " " * (len(marker) + 1) if marker else "  "
    lines = body.split("\n")
    first = f"{marker} {lines[0]}".rstrip() if marker else pad + lines[0]
    return "\n".join([first, *(pad + line if line else "" for line in lines[1:])])


def _table(_n: Node, _a: Attrs, content: Content, b: _Budget, d: int) -> str:
    grid: list[list[str]] = []
    for row in content:
        cells = row.get("content") if isinstance(row, dict) else None
        if isinstance(cells, list):
            grid.append([_cell(cell, b, d + 1) for cell in cells if isinstance(cell, dict)])
    width = max((len(row) for row in grid), default=0)
    if not width:
        return ""
    rows = [row + [""] * (width - len(row)) for row in grid]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _cell(cell: Node, budget: _Budget, depth: int) -> str:
    content = cell.get("content")
    text = _children(content, budget, depth) if isinstance(content, list) else ""
    return " ".join(line.strip() for line in text.split("\n") if line.strip()).replace("|", "\\|")


def _expand(_n: Node, attrs: Attrs, content: Content, b: _Budget, d: int) -> str:
    title = adf_leaves.attr(attrs, "title")
    body = _children(content, b, d)
    return f"**{title}**\n\n{body}" if title else body


def _constant(value: str) -> Handler:
    return lambda *_: value


_HANDLERS: dict[str, Handler] = {
    "doc": lambda _n, _a, content, b, d: _children(content, b, d),
    "paragraph": lambda _n, _a, content, b, d: _inline(content, b, d),
    "text": adf_leaves.marked_text,
    "heading": _heading,
    "hardBreak": _constant("\n"),
    "rule": _constant("---"),
    "mention": adf_leaves.mention,
    "emoji": lambda _n, attrs, *_: adf_leaves.attr(attrs, "text", "shortName"),
    "status": adf_leaves.status,
    "date": adf_leaves.date,
    "inlineCard": adf_leaves.card,
    "blockCard": adf_leaves.card,
    "embedCard": adf_leaves.card,
    "bulletList": _list,
    "orderedList": _list,
    "listItem": lambda _n, _a, content, b, d: _children(content, b, d),
    "taskList": _task_list,
    "decisionList": _task_list,
    "codeBlock": adf_leaves.code_block,
    "blockquote": lambda _n, _a, content, b, d: quote(_children(content, b, d)),
    "panel": lambda _n, _a, content, b, d: _children(content, b, d),
    "expand": _expand,
    "nestedExpand": _expand,
    "table": _table,
    "mediaSingle": lambda _n, _a, content, b, d: _lines(content, b, d),
    "mediaGroup": lambda _n, _a, content, b, d: _lines(content, b, d),
    "media": adf_leaves.media,
    "mediaInline": adf_leaves.media,
    "placeholder": _constant(""),
    "extension": _constant(""),
    "inlineExtension": _constant(""),
}
