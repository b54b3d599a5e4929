"""Property tests of what the HTTP edge does before a run exists: webhook authentication (token
and HMAC), ticket key validation, and bodies and descriptions (wiki, ADF) nested deeper than the
generic generators reach (tests/jira/test_properties.py covers their breadth).

Whatever arrives, the only outcomes are the documented ones: a verdict, a `PayloadError` /
`IgnoredEvent`, a pydantic `ValidationError`; never another exception.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from app.api.auth import authenticate, sign, signature_valid, token_valid
from app.config import Settings
from app.errors import PayloadError
from app.git_names import BRANCH_PATTERN
from app.jira import IgnoredEvent, parse_event, to_markdown
from app.ticket import KEY_PATTERN, Ticket

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

secrets = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=64
)
"""Secrets come from the environment as text: never lone surrogates, never NUL. (HMAC pads a short
key with NUL bytes, so `k` and `k\\x00` are one key; an environment variable cannot hold NUL.)"""
bodies = st.binary(max_size=2048)
headers = st.text(max_size=120) | st.text(st.characters(max_codepoint=255), max_size=120)
"""Any text, and what Starlette makes of any header bytes (latin-1)."""
cases = st.sampled_from([str.lower, str.upper])


@PROPERTIES
@given(secret=secrets, body=bodies, method=cases, digest=cases, pad=st.sampled_from(["", " "]))
def test_the_signature_jira_sends_is_accepted(
    secret: str, body: bytes, method: Callable[[str], str], digest: Callable[[str], str], pad: str
) -> None:
    name, _, value = sign(secret, body).partition("=")
    assert signature_valid(secret, body, f"{pad}{method(name)}={digest(value)}{pad}")


@PROPERTIES
@given(secret=secrets, body=bodies, index=st.integers(min_value=0), bit=st.integers(0, 7))
def test_a_changed_body_is_refused(secret: str, body: bytes, index: int, bit: int) -> None:
    assume(body)
    changed = bytearray(body)
    changed[index % len(body)] ^= 1 << bit
    assert not signature_valid(secret, bytes(changed), sign(secret, body))


@PROPERTIES
@given(secret=secrets, other=secrets, body=bodies)
def test_another_secret_is_refused(secret: str, other: str, body: bytes) -> None:
    assume(other != secret)
    assert not signature_valid(secret, body, sign(other, body))


@PROPERTIES
@given(secret=secrets, body=bodies, header=headers)
def test_any_header_gets_a_verdict(secret: str, body: bytes, header: str) -> None:
    assert signature_valid(secret, body, header) in (True, False)
    assert token_valid(secret, header) is (header == secret)


@PROPERTIES
@given(token=st.none() | headers, signature=st.none() | headers, body=bodies)
def test_authenticate_answers_every_request(
    token: str | None, signature: str | None, body: bytes
) -> None:
    settings_ = Settings(
        webhook_secret=SecretStr("token-for-tests-0123456789"),
        jira_webhook_hmac_secret=SecretStr("It's a Secret to Everybody"),
    )
    refusal = authenticate(settings_, body, token, signature)
    authentic = token == "token-for-tests-0123456789" or (
        signature is not None
        and signature.strip().lower() == sign("It's a Secret to Everybody", body)
    )
    assert (refusal is None) is authentic
    assert refusal is None or refusal in (
        "invalid webhook credentials",
        "missing X-Webhook-Token or X-Hub-Signature header",
    )


def test_hmac_matches_the_published_test_vector() -> None:
    expected = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    assert sign("It's a Secret to Everybody", b"Hello World!") == expected


keys = st.from_regex(KEY_PATTERN, fullmatch=True) | st.text(max_size=40)


@PROPERTIES
@given(key=keys)
def test_a_key_is_valid_exactly_when_its_branch_and_worktree_are_safe(key: str) -> None:
    try:
        ticket = Ticket(key=key, summary="Add a greeting")
    except ValidationError:
        assert not KEY_PATTERN.fullmatch(key)
        return
    assert BRANCH_PATTERN.fullmatch(ticket.branch)
    worktrees = Path("/srv/workspace/worktrees")
    path = (worktrees / ticket.branch).resolve()
    assert path.parent == worktrees / "ticket"
    assert path.name == key.lower()


LEVELS = {"list": 1, "dict": 2, "adf": 4}
"""JSON nesting levels each wrap adds."""
JSON_DEPTH = 900
"""About as deep as `json.loads` goes inside the server before it gives up (see the webhook)."""


def nest(depth: int, leaf: object, *, wrap: str) -> object:
    for _ in range(depth):
        if wrap == "list":
            leaf = [leaf]
        elif wrap == "adf":
            leaf = {"type": "bulletList", "content": [{"type": "listItem", "content": [leaf]}]}
        else:
            leaf = {"type": "paragraph", "content": [leaf]}
    return leaf


FIELDS = ("description", "summary", "labels", "changelog", "user", "issue")


@settings(PROPERTIES, max_examples=60)
@given(
    wrap_depth=st.sampled_from(sorted(LEVELS)).flatmap(
        lambda wrap: st.tuples(st.just(wrap), st.integers(0, JSON_DEPTH // LEVELS[wrap]))
    ),
    where=st.sampled_from(FIELDS),
)
def test_deeply_nested_bodies_parse_or_fail_as_documented(
    wrap_depth: tuple[str, int], where: str
) -> None:
    wrap, depth = wrap_depth
    deep = nest(depth, {"type": "text", "text": "x"}, wrap=wrap)
    fields = {"summary": "Add a greeting", "description": None}
    body: dict[str, object] = {
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": "PROJ-1", "fields": fields},
    }
    if where in ("description", "summary", "labels"):
        fields[where] = deep
    elif where == "changelog":
        body["changelog"] = {"items": [deep]}
    else:
        body[where] = deep
    try:
        event = parse_event(body, jira_base_url=None)
    except (PayloadError, IgnoredEvent):
        return
    assert isinstance(to_markdown(event.ticket.description), str)


@pytest.mark.parametrize("depth", [1_000, 10_000])
def test_descriptions_deeper_than_the_stack_still_convert(depth: int) -> None:
    """Built in Python (a JSON body this deep is refused before parsing): ADF rendering is capped
    in depth, so no document, however built, exhausts the stack."""
    assert isinstance(to_markdown(nest(depth, {"type": "text", "text": "x"}, wrap="adf")), str)
    assert isinstance(to_markdown({"type": "doc", "content": [nest(depth, "x", wrap="list")]}), str)


WIKI_NESTING = ["* ", "# ", "#*# ", "bq. ", "{quote}", "{panel}", "{code}", "{noformat}", "h1. "]


@settings(PROPERTIES, max_examples=25)
@given(
    marker=st.sampled_from(WIKI_NESTING),
    depth=st.integers(1, 2_000),
    tail=st.text(max_size=20),
)
def test_wiki_nested_thousands_deep_converts_cleanly(marker: str, depth: int, tail: str) -> None:
    """Markers repeated on one line and over many lines (lists, quotes, panels, code fences)."""
    text = marker.strip() * depth + " item " + tail + "\n" + (marker + "x\n") * min(depth, 500)
    markdown = to_markdown(text)
    assert isinstance(markdown, str)
    assert not any(ord(char) < 32 and char not in "\n\t" for char in markdown)
