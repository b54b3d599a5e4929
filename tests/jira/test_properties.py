"""Property tests: whatever arrives, only the documented outcomes come out.

parse_event returns a JiraEvent or raises PayloadError / IgnoredEvent; to_markdown returns a
sanitised string and never raises. Bodies are arbitrary JSON-like values, plus bodies shaped like
the real ones with random parts, so that the fuzzing reaches past the first type check.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.errors import PayloadError
from app.jira import IgnoredEvent, JiraEvent, decide, parse_event, to_markdown
from app.ticket import KEY_PATTERN

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=40,
)

WIKI_TOKENS = [
    "*", "_", "-", "+", "^", "~", "??", "{{", "}}", "[", "]", "|", "||", "!", "\\\\", "\n", " ",
    "h1. ", "bq. ", "# ", "* ", "** ", "#* ", "- ", "----", "{code}", "{code:java}", "{noformat}",
    "{quote}", "{color:red}", "{color}", "{panel:title=T}", "{panel}", "[a|http://x.y/a_b]",
    "http://x.y/", "x.png", "```", "<!--", "-->", "\u200b", "\u202e", "\U000e0041", "a", "b ",
]  # fmt: skip
wiki_text = st.lists(st.sampled_from(WIKI_TOKENS) | st.text(max_size=5), max_size=40).map("".join)

ADF_TYPES = [
    "doc", "paragraph", "text", "heading", "bulletList", "orderedList", "listItem", "codeBlock",
    "blockquote", "rule", "hardBreak", "mention", "emoji", "inlineCard", "blockCard", "panel",
    "table", "tableRow", "tableHeader", "tableCell", "mediaSingle", "media", "status", "date",
    "taskList", "taskItem", "expand", "somethingNew",
]  # fmt: skip
adf_attrs = st.dictionaries(
    st.sampled_from(["level", "order", "language", "url", "text", "id", "timestamp", "state"]),
    scalars,
    max_size=3,
)
adf_marks = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["strong", "em", "code", "strike", "link", "underline", "x"])},
        optional={"attrs": st.fixed_dictionaries({"href": st.text(max_size=20)}) | json_values},
    )
    | json_values,
    max_size=3,
)
adf_nodes = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(ADF_TYPES)},
        optional={"text": wiki_text | json_values, "attrs": adf_attrs, "marks": adf_marks},
    ),
    lambda children: st.fixed_dictionaries(
        {"type": st.sampled_from(ADF_TYPES) | json_values},
        optional={"content": st.lists(children, max_size=4) | json_values, "attrs": adf_attrs},
    ),
    max_leaves=30,
)
descriptions = st.none() | wiki_text | adf_nodes | json_values

keys = st.sampled_from(["PROJ-1", "AB_2-99", "proj-1", "../x-1", "PROJ-0", "A-1"]) | json_values
summaries = wiki_text | st.sampled_from(["Fix it", "", "  "]) | json_values
labels = st.lists(st.sampled_from(["auto-code", "x", ""]) | json_values, max_size=4) | json_values
changelog_items = st.fixed_dictionaries(
    {"field": st.sampled_from(["labels", "status"]) | json_values},
    optional={"fromString": st.text(max_size=20) | json_values, "toString": st.text(max_size=20)},
)
issues = st.fixed_dictionaries(
    {},
    optional={
        "key": keys,
        "self": st.sampled_from(["https://a.example/rest/api/2/issue/1", "javascript:x"])
        | json_values,
        "fields": st.fixed_dictionaries(
            {},
            optional={"summary": summaries, "description": descriptions, "labels": labels},
        )
        | json_values,
    },
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "webhookEvent": st.sampled_from(
            ["jira:issue_created", "jira:issue_updated", "comment_created", ""]
        )
        | json_values,
        "issue": issues | json_values,
        "user": st.fixed_dictionaries({}, optional={"accountId": json_values, "name": keys})
        | json_values,
        "changelog": st.fixed_dictionaries(
            {}, optional={"items": st.lists(changelog_items | json_values, max_size=3)}
        )
        | json_values,
        "issue_event_type_name": st.sampled_from(["issue_commented"]) | json_values,
        "timestamp": json_values,
    },
)
top_level_bodies = issues


def assert_clean(markdown: str) -> None:
    assert "<!--" not in markdown
    for char in markdown:
        assert char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Cs"), repr(char)


def check_parse(body: object) -> None:
    try:
        event = parse_event(body, jira_base_url=None)
    except (PayloadError, IgnoredEvent) as outcome:
        assert outcome.args
        return
    assert isinstance(event, JiraEvent)
    assert KEY_PATTERN.fullmatch(event.ticket.key)
    assert event.ticket.summary.strip()
    assert_clean(event.ticket.description)
    assert_clean(event.ticket.summary)
    for trigger_label in ("auto-code", None):
        decision = decide(
            event, trigger_label=trigger_label, allowed_projects=[], ignore_account_ids=["x"]
        )
        assert decision.reason


@PROPERTY_SETTINGS
@given(json_values)
def test_parse_event_on_any_json(body: Any) -> None:
    check_parse(body)


@PROPERTY_SETTINGS
@given(bodies)
def test_parse_event_on_webhook_like_bodies(body: dict[str, Any]) -> None:
    check_parse(body)


@PROPERTY_SETTINGS
@given(top_level_bodies)
def test_parse_event_on_automation_format_bodies(body: dict[str, Any]) -> None:
    check_parse(body)


@PROPERTY_SETTINGS
@given(descriptions)
def test_to_markdown_never_raises(description: Any) -> None:
    markdown = to_markdown(description)
    assert isinstance(markdown, str)
    assert_clean(markdown)


CODE_TOKENS = [
    token
    for token in WIKI_TOKENS
    if not token.startswith(("{code", "{noformat", "```", "<!--")) and token.isascii()
]
code_text = st.lists(
    st.sampled_from([*CODE_TOKENS, "\t"])
    | st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="`"))
).map("".join)


@PROPERTY_SETTINGS
@given(code_text)
def test_wiki_code_blocks_keep_their_content(content: str) -> None:
    # A closing tag ends the block, and comments are removed even from code (see sanitize_text).
    assume(not any(token in content for token in ("{code", "{noformat", "<!--")))
    markdown = to_markdown("{code:java}\n" + content + "\n{code}")
    lines = markdown.split("\n")
    assert lines[0] == "```java"
    assert lines[-1] == "```"
    inner = [line for line in lines[1:-1] if line]
    expected = [line.rstrip() for line in content.split("\n") if line.strip()]
    assert inner == expected
