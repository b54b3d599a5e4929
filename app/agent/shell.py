"""Reading a Bash tool call's shell text: its simple commands and the files they write.

The guard judges commands, not strings, so `echo 'git push'` is harmless while
`bash -c 'git push'`, `x && git push` and `echo "$(git push)"` are pushes. Commands are found
after separators (`;`, `&&`, `|`, newlines, parentheses), inside `sh -c '…'`, `eval`, `find -exec`,
`$(…)` and backticks; `VAR=value` prefixes and wrappers such as `env`, `nohup` or `timeout` are
dropped. Heredoc bodies are read as commands too: a false alarm there costs the model a retry
with the Write tool, a miss would cost more. This is not a shell: variables, aliases and
functions are not expanded, which is why the guard's Bash rules are best effort.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "fish", "source", "."})
COMMAND_WRAPPERS = frozenset(
    {"env", "command", "builtin", "exec", "nohup", "time", "nice", "timeout", "xargs", "setsid"}
)
_PUNCTUATION = "();<>|&\n"
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MAX_DEPTH = 5
"""Nesting of `sh -c` / `eval` / `$(…)` followed; deeper text is judged as plain words."""


@dataclass
class Command:
    """One simple command: its words (argv[0] without a directory) and redirection targets."""

    argv: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    """Files the shell opens for writing (`>`, `>>`, `&>`, `>|`)."""
    reads: list[str] = field(default_factory=list)
    """Files the shell opens for reading (`<`)."""

    @property
    def name(self) -> str:
        return self.argv[0] if self.argv else ""


def commands(text: str, depth: int = 0) -> Iterator[Command]:
    """Every simple command in `text`, nested ones included."""
    for command in _split(text):
        command.argv = _strip_prefixes(command.argv)
        if not command.argv and not (command.writes or command.reads):
            continue
        if command.argv:
            command.argv[0] = os.path.basename(command.argv[0]) or command.argv[0]
        yield command
        if depth < MAX_DEPTH:
            for nested in _nested_text(command.argv):
                yield from commands(nested, depth + 1)
            yield from _exec_commands(command.argv)
    if depth < MAX_DEPTH:
        for match in _SUBSTITUTION.finditer(text):
            yield from commands(match.group(1) or match.group(2) or "", depth + 1)


def words(text: str) -> list[str]:
    """Every word of `text` (commands, arguments and redirection targets), best effort."""
    return [w for c in commands(text) for w in (*c.argv, *c.writes, *c.reads)]


def _split(text: str) -> Iterator[Command]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: judge the words as they are
        tokens = re.findall(r"[();<>|&\n]+|[^\s();<>|&]+", text)
    current = Command()
    target: list[str] | None = None
    duplicating = False
    for word in tokens:
        if target is not None and not _is_operator(word):
            # `2>&1` and `>&-` duplicate descriptors; a word after a plain `>&` is a file.
            if not (duplicating and (word.isdigit() or word == "-")):
                target.append(word)
            target = None
            continue
        target = None
        if not _is_operator(word):
            current.argv.append(word)
        elif "(" in word or ")" in word or not set(word) & {"<", ">"}:
            if current.argv or current.writes or current.reads:
                yield current
            current = Command()
        elif ">" in word:
            target, duplicating = current.writes, word.endswith("&")
        else:
            target, duplicating = current.reads, False
    if current.argv or current.writes or current.reads:
        yield current


def _is_operator(word: str) -> bool:
    return bool(word) and all(c in _PUNCTUATION for c in word)


def _strip_prefixes(argv: list[str]) -> list[str]:
    """Drop `VAR=value` assignments and wrappers such as `env`/`nohup` before the command.

    A wrapper with nothing after it is itself the command (`env` alone prints the environment).
    """
    while argv:
        if _ASSIGNMENT.match(argv[0]):
            argv = argv[1:]
        elif os.path.basename(argv[0]) in COMMAND_WRAPPERS:
            rest = argv[1:]
            while rest and (rest[0].startswith("-") or rest[0].replace(".", "").isdigit()):
                rest = rest[1:]
            while rest and _ASSIGNMENT.match(rest[0]):
                rest = rest[1:]
            if not rest:
                return argv
            argv = rest
        else:
            break
    return argv


def _nested_text(argv: list[str]) -> Iterator[str]:
    """The script of `sh -c '…'` (also `-lc`, `-ec`…) and the words of `eval`."""
    if argv[0] == "eval":
        yield " ".join(argv[1:])
    elif argv[0] in SHELLS:
        for index, arg in enumerate(argv[1:-1], start=1):
            if arg.startswith("-") and not arg.startswith("--") and "c" in arg:
                yield argv[index + 1]
                return


def _exec_commands(argv: list[str]) -> Iterator[Command]:
    """The command `find … -exec cmd … ;` runs."""
    if argv[0] != "find":
        return
    for index, arg in enumerate(argv):
        if arg in ("-exec", "-execdir", "-ok", "-okdir") and index + 1 < len(argv):
            rest = argv[index + 1 :]
            end = next((i for i, w in enumerate(rest) if w in (";", "+", "{}+")), len(rest))
            nested = _strip_prefixes(rest[:end])
            if nested:
                nested[0] = os.path.basename(nested[0]) or nested[0]
                yield Command(nested)


def written_files(argv: list[str]) -> list[str]:
    """The files a command writes by its arguments, for the commands where that is plain."""
    name, args = (argv[0], argv[1:]) if argv else ("", [])
    operands = [a for a in args if not a.startswith("-")]
    if name in ("tee", "touch", "mkdir", "rm", "rmdir", "truncate", "shred", "unlink"):
        return operands
    if name in ("chmod", "chown", "chgrp"):
        return operands[1:]
    if name in ("cp", "mv", "install", "ln", "rsync"):
        for index, arg in enumerate(args):
            if arg in ("-t", "--target-directory") and index + 1 < len(args):
                return [args[index + 1]]
            if arg.startswith("--target-directory="):
                return [arg.split("=", 1)[1]]
        return operands[-1:] if len(operands) > 1 else []
    if name == "dd":
        return [a[3:] for a in args if a.startswith("of=")]
    if name in ("curl", "wget"):
        flags = ("-o", "--output") if name == "curl" else ("-O", "--output-document", "-P")
        return [args[i + 1] for i, a in enumerate(args[:-1]) if a in flags]
    if name == "sed" and any(a.startswith("-i") or a.startswith("--in-place") for a in args):
        return _sed_files(args)
    return []


def _sed_files(args: list[str]) -> list[str]:
    """The files of `sed -i`: its operands, less the script when no -e/-f gives it."""
    files, script_given, skip = [], False, False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-e", "-f", "--expression", "--file"):
            script_given = skip = True
        elif not arg.startswith("-"):
            files.append(arg)
    return files if script_given else files[1:]
