"""Checks on ADF documents: valid against Atlassian's JSON schema, their text, their links."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).parent / "data" / "adf-schema-v1-full.json"


@cache
def adf_validator() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()))


def assert_valid_adf(document: dict[str, Any]) -> None:
    errors = sorted(adf_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def adf_text(document: dict[str, Any]) -> str:
    """All text of an ADF document, in order."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                out.append(node["text"])
            elif node.get("type") == "hardBreak":
                out.append("\n")
            for child in node.get("content", []):
                walk(child)
            if node.get("type") in ("paragraph", "listItem", "codeBlock"):
                out.append("\n")

    walk(document)
    return "".join(out)


def adf_links(document: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for mark in node.get("marks", []):
                if mark["type"] == "link":
                    found.append((node["text"], mark["attrs"]["href"]))
            for child in node.get("content", []):
                walk(child)

    walk(document)
    return found
