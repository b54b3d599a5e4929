"""Helpers shared by the converters: Markdown building blocks and the untrusted-text scrubber.

Ticket text is written by anyone who can edit a Jira issue and ends up in the agent's prompt and in
the pull request body, so `sanitize_text` removes what a human reviewer cannot see but a model
reads: invisible Unicode (zero-width, bidi controls, tag characters, variation selectors, lone
surrogates, control characters) and HTML comments (which GitHub hides when rendering Markdown).
"""

from __future__ import annotations

import re

_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0/C1 controls, except tab and newline
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"  # Arabic/Syriac format characters
    "\u200b-\u200f"  # zero-width space/joiners, LRM/RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidi isolates, deprecated formats
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\ud800-\udfff"  # lone surrogates (cannot even be encoded as UTF-8)
    "\U000110bd\U000110cd\U00013430-\U0001345f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff"  # tag characters and variation selectors supplement
    "]"
)
_LINE_SEPARATORS = re.compile("\r\n?|[\u2028\u2029\x85]")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_BACKTICKS = re.compile(r"`+")

MAX_PLAIN_NODES = 100_000
"""Nodes `plain_text` visits at most: a bound on work for hostile documents."""


def sanitize_text(text: str) -> str:
    """Remove invisible characters and HTML comments; normalise line ends, blank runs, ends."""
    text = _LINE_SEPARATORS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _strip_html_comments(text)
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _strip_html_comments(text: str) -> str:
    """Drop `<!-- ... -->` and any dangling `<!--`, repeating until none is left.

    Removing one comment can join its neighbours into a new one (`<!-<!-- x -->- y -->`), hence
    the loop; every pass that changes the text removes at least four characters, so it ends.
    A dangling opener is removed rather than everything after it: in Markdown an unterminated
    comment hides the rest of the document from a reviewer, and we want the text to stay visible.
    """
    while "<!--" in text:
        parts: list[str] = []
        pos = 0
        while (start := text.find("<!--", pos)) != -1:
            parts.append(text[pos:start])
            end = text.find("-->", start + 4)
            if end == -1:  # no closer after this opener, so none after later ones either
                parts.append(text[start:].replace("<!--", ""))
                pos = len(text)
                break
            pos = end + 3
        parts.append(text[pos:])
        text = "".join(parts)
    return text


def fence(code: str, language: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside `code`."""
    longest = max((len(m) for m in _BACKTICKS.findall(code)), default=0)
    marks = "`" * max(3, longest + 1)
    language = re.sub(r"[^A-Za-z0-9_+#.-]", "", language)[:30]
    return f"{marks}{language}\n{code.rstrip(chr(10))}\n{marks}"


def code_span(code: str) -> str:
    """Inline code that survives backticks inside it."""
    if not code:
        return ""
    longest = max((len(m) for m in _BACKTICKS.findall(code)), default=0)
    marks = "`" * (longest + 1)
    pad = " " if longest or code.startswith("`") or code.endswith("`") else ""
    return f"{marks}{pad}{code}{pad}{marks}"


def link(text: str, url: str) -> str:
    """A Markdown link (an autolink when there is no text); never breaks on odd characters."""
    url = re.sub(r"[\s<>]", "", url)
    if not url:
        return text
    if not text:
        return f"<{url}>"
    text = text.replace("[", "\\[").replace("]", "\\]")
    return f"[{text}](<{url}>)" if re.search(r"[()]", url) else f"[{text}]({url})"


def quote(markdown: str) -> str:
    """Prefix every line with `> `."""
    return "\n".join(f"> {line}" if line else ">" for line in markdown.split("\n"))


def plain_text(node: object) -> str:
    """Every string under `text` keys (and bare strings) of a JSON-like tree, without recursion.

    The fallback for documents nested too deeply to render, or that broke a renderer.
    """
    out: list[str] = []
    stack: list[object] = [node]
    seen: set[int] = set()
    visited = 0
    while stack and visited < MAX_PLAIN_NODES:
        item = stack.pop()
        visited += 1
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict | list):
            if id(item) in seen:  # only a Python caller can build a cycle, but never loop
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                text = item.get("text")
                if isinstance(text, str):
                    out.append(text)
                children = item.get("content")
                if isinstance(children, list):
                    stack.extend(reversed(children))
            else:
                stack.extend(reversed(item))
    return " ".join(part for part in out if part)
