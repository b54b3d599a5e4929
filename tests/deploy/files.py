"""Readers for the deployment files, since no Docker engine or compose runs here.

`dockerfile()` splits the Dockerfile into stages of instructions; `interpolate()` applies compose's
`${...}` rules (https://docs.docker.com/reference/compose-file/interpolation/) to one value.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE_FILE = REPO_ROOT / "compose" / "auto-code.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """The JSON list of ENTRYPOINT, CMD, VOLUME or a HEALTHCHECK's CMD."""
        value = self.value
        if self.keyword == "HEALTHCHECK":
            value = value[value.index("CMD ") + len("CMD ") :]
        return json.loads(value)

    def assignments(self) -> dict[str, str]:
        """`ENV A=1 B=2` or `ARG A=1` as a dict (an ARG without default maps to "")."""
        pairs = [word.partition("=") for word in shlex.split(self.value)]
        return {name: value for name, _, value in pairs}


def dockerfile() -> tuple[list[Instruction], list[list[Instruction]]]:
    """(the instructions before the first FROM, then each stage from its FROM on)."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, value = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip()))
        pending = ""
    first_from = next(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    stages: list[list[Instruction]] = []
    for instruction in instructions[first_from:]:
        if instruction.keyword == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return instructions[:first_from], stages


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def interpolate(value: str, variables: dict[str, str]) -> str:
    """`value` with `$$`, `$VAR` and `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`,
    `${VAR:?e}`, `${VAR?e}` resolved as compose does, nested ones included."""
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("${", i):
            end = _closing_brace(value, i)
            out.append(_expression(value[i + 2 : end], variables))
            i = end + 1
        elif value[i] == "$" and (name := NAME.match(value, i + 1)):
            out.append(variables.get(name.group(), ""))
            i = name.end()
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _closing_brace(value: str, start: int) -> int:
    depth = 0
    for i in range(start + 1, len(value)):
        if value.startswith("${", i):
            depth += 1
        elif value[i] == "}":
            if depth == 0:
                return i
            depth -= 1
    raise ValueError(f"unclosed ${{ in {value!r}")


def _expression(body: str, variables: dict[str, str]) -> str:
    name = NAME.match(body)
    assert name, f"not a variable: ${{{body}}}"
    operator = re.match(r":?[-+?]", body[name.end() :])
    current = variables.get(name.group())
    if operator is None:
        return current or ""
    word = interpolate(body[name.end() + len(operator.group()) :], variables)
    present = bool(current) if operator.group().startswith(":") else current is not None
    kind = operator.group()[-1]
    if kind == "-":
        return current if present and current is not None else word
    if kind == "+":
        return word if present else ""
    if not present:
        raise ValueError(f"required variable {name.group()}: {word}")
    return current or ""
