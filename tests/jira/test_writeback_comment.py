"""The write-back comment: what it says for each outcome, and that both renderings are well formed.

ADF bodies are validated against Atlassian's published ADF JSON schema (`adf_check`); wiki
bodies are checked for escaping, and read back with our own wiki reader for the links.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.jira.comment import CommentContext, build_comment, describe_stage
from app.jira.document import Block, Bullets, Preformatted, Quote, code, link, para, to_adf, to_wiki
from app.jira.wiki import wiki_to_markdown
from app.pipeline.runs import Run, RunStatus, utcnow
from app.ticket import Ticket
from tests.jira.adf_check import adf_links, adf_text, assert_valid_adf

STATUS_URL = "https://auto-code.example.com/runs/run_0123456789abcdef"
PR = "https://github.com/acme/widgets/pull/7"
HOSTILE = "h1. *not bold* _x_ {code}x{code} [a|http://evil] {noformat} | !img.png! \\ -y- ??c??"


def make_run(status: RunStatus = RunStatus.RUNNING, **record: Any) -> Run:
    now = utcnow()
    ticket = Ticket(key="PROJ-7", summary="Add a greeting")
    return Run(
        id="run_0123456789abcdef",
        ticket=ticket.key,
        status=status,
        stage=None if status.terminal else "implement",
        created_at=now,
        updated_at=now,
        record={"job": ticket.model_dump(mode="json"), "branch": "ticket/proj-7", **record},
    )


GATES = {
    "review": {"status": "passed", "fix_rounds": 1},
    "lint": {"status": "passed", "fix_rounds": 0},
    "test": {"status": "passed", "fix_rounds": 2},
}
STAGES = [
    {"name": "workspace", "status": "ok", "started_at": "2026-01-01T10:00:00+00:00"},
    {"name": "implement", "status": "ok", "started_at": "2026-01-01T10:00:10+00:00"},
]
DONE = {"finished_at": "2026-01-01T10:03:05+00:00", "cost_usd": 0.4217, "turns": 17}

CTX = CommentContext(status_url=STATUS_URL, trigger_label="auto-code")

OUTCOMES: dict[str, Run] = {
    "progress": make_run(gates={"review": {"status": "failed", "fix_rounds": 0}}),
    "succeeded": make_run(
        RunStatus.SUCCEEDED,
        pr_url=PR,
        pr_number=7,
        gates=GATES,
        stages=STAGES,
        agent_summary="Added greet() in src/greet.py.\n\nIt returns *hello, world*.",
        **DONE,
    ),
    "draft": make_run(
        RunStatus.GATES_FAILING,
        pr_url=PR,
        pr_number=7,
        failing_gates=["lint"],
        gates={**GATES, "lint": {"status": "failed", "fix_rounds": 2}},
        **DONE,
    ),
    "dry_run": make_run(
        RunStatus.SUCCEEDED,
        dry_run=True,
        gates=GATES,
        worktree="/srv/workspace/worktrees/ticket/proj-7",
        cleanup_command="git -C /srv/workspace/repo worktree remove /srv/x --force",
        **DONE,
    ),
    "no_changes": make_run(
        RunStatus.NO_CHANGES, explanation="greet() already returns hello, world.", **DONE
    ),
    "max_turns": make_run(
        RunStatus.FAILED,
        error={
            "type": "AgentError",
            "subtype": "error_max_turns",
            "message": "the agent stopped at its turn limit (MAX_TURNS=4) after 4 turns ($0.10)",
        },
        stages=[*STAGES, {"name": "implement", "status": "failed", "error": {"type": "X"}}],
        **DONE,
    ),
    "tampering": make_run(
        RunStatus.FAILED,
        error={
            "type": "TamperingError",
            "message": "the shared clone's git configuration was changed outside the service",
        },
        **DONE,
    ),
    "hostile": make_run(RunStatus.NO_CHANGES, explanation=HOSTILE, agent_summary=HOSTILE),
    "cancelled": make_run(
        RunStatus.CANCELLED,
        error={"type": "Cancelled", "message": "cancelled by the operator"},
        **DONE,
    ),
}


def render(name: str, ctx: CommentContext = CTX) -> tuple[dict[str, Any], str]:
    run = OUTCOMES[name]
    blocks = build_comment(run, None if run.status.terminal else "fix_review#1", ctx)
    return to_adf(blocks), to_wiki(blocks)


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_every_outcome_is_valid_adf_and_carries_the_run_link(name: str) -> None:
    adf, wiki = render(name)

    assert_valid_adf(adf)
    assert ("run_0123456789abcdef", STATUS_URL) in adf_links(adf)
    assert f"[run\\_0123456789abcdef|{STATUS_URL}]" in wiki


def test_progress_names_the_stage_and_the_gates_so_far() -> None:
    adf, wiki = render("progress")
    text = adf_text(adf)

    assert "working on this ticket: now fixing what code review found (fix round 1)" in text
    assert "code review: ❌ failed, fixing it" in text
    assert "* *code review*: ❌ failed, fixing it" in wiki


def test_a_cancelled_run_says_the_operator_stopped_it_and_how_to_run_it_again() -> None:
    adf, wiki = render("cancelled")
    text = adf_text(adf)

    assert "The service's operator stopped this run before it started." in text
    assert "run it again by removing the label auto-code and adding it back" in text
    assert "could not finish" not in text
    assert "operator stopped this run" in wiki


def test_success_shows_the_pull_request_gates_fix_rounds_cost_and_turns() -> None:
    adf, wiki = render("succeeded")
    text = adf_text(adf)

    assert ("pull request #7", PR) in adf_links(adf)
    assert "code review: ✅ passed after 1 fix round\n" in text
    assert "lint: ✅ passed\n" in text
    assert "tests: ✅ passed after 2 fix rounds" in text
    assert "Cost $0.42 · 17 agent turns · 3 min 5 s" in text
    assert "Added greet() in src/greet.py." in text
    assert f"[pull request \\#7|{PR}]" in wiki
    assert f"]({PR})" in wiki_to_markdown(wiki)


def test_a_draft_says_which_gates_still_fail_and_what_to_do() -> None:
    text = adf_text(render("draft")[0])

    assert "Draft pull request #7 opened: lint still fails after the fix rounds." in text
    assert "lint: ❌ still fails after 2 fix rounds" in text
    assert "fix it on the branch ticket/proj-7" in text
    assert "removing the label auto-code and adding it back" in text


def test_a_dry_run_says_where_the_worktree_is() -> None:
    adf, wiki = render("dry_run")
    text = adf_text(adf)

    assert "nothing was committed or pushed" in text
    assert "/srv/workspace/worktrees/ticket/proj-7" in text
    assert "worktree remove /srv/x --force" in text
    assert "{{/srv/workspace/worktrees/ticket/proj\\-7}}" in wiki


def test_no_changes_quotes_the_agent_and_asks_for_detail() -> None:
    adf, wiki = render("no_changes")
    text = adf_text(adf)

    assert "Finished without changing anything." in text
    assert "greet() already returns hello, world." in text
    assert "add detail (what should change, where, and how to tell that it works)" in text
    assert "{quote}\ngreet() already returns hello, world.\n{quote}" in wiki


def test_a_failure_says_why_in_plain_words_and_what_the_user_can_do() -> None:
    adf, wiki = render("max_turns")
    text = adf_text(adf)

    assert "could not finish this ticket" in text
    assert "the agent used all of its turns before it finished" in text
    assert "split it into smaller tickets" in text
    assert "The error (in implementing the ticket):" in text
    assert "{noformat}\nthe agent stopped at its turn limit (MAX_TURNS=4)" in wiki


def test_tampering_asks_for_a_person_not_a_rerun() -> None:
    text = adf_text(render("tampering")[0])

    assert "a program the agent ran changed the service's git configuration" in text
    assert "read the ticket for instructions aimed at the agent" in text
    assert "run id run_0123456789abcdef" in text
    assert "not a problem with the ticket" not in text


def test_without_a_public_url_the_run_id_is_shown_and_without_a_label_an_edit_reruns() -> None:
    ctx = CommentContext(status_url=None, trigger_label=None)
    adf, wiki = render("no_changes", ctx)

    assert adf_links(adf) == []
    assert "auto-code run run_0123456789abcdef" in adf_text(adf)
    assert "{{run\\_0123456789abcdef}}" in wiki
    assert "editing the ticket (a change to it starts a new run)" in adf_text(adf)


def test_hostile_text_stays_text_in_wiki_markup() -> None:
    _adf, wiki = render("hostile")
    quoted = wiki.split("{quote}\n", 1)[1].split("\n{quote}", 1)[0]

    assert quoted == (
        "&#104;1. \\*not bold\\* \\_x\\_ \\{code\\}x\\{code\\} \\[a\\|http://evil\\] "
        "\\{noformat\\} \\| \\!img.png\\! &#92; \\-y\\- \\?\\?c\\?\\?"
    )
    assert wiki.count("{quote}") == 2
    assert "](http://evil)" not in wiki_to_markdown(wiki)


def test_secrets_are_masked_and_long_text_is_clipped() -> None:
    secret = "ghp_supersecretvalue123"
    run = make_run(RunStatus.NO_CHANGES, explanation=f"token {secret} " + "x" * 5000)
    blocks = build_comment(run, None, CommentContext(None, None, secrets=[secret]))
    text = adf_text(to_adf(blocks))

    assert secret not in text and "token ***" in text
    assert "x" * 1900 in text and "x" * 2100 not in text


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("workspace", "preparing the repository"),
        ("review", "running code review"),
        ("test#1", "running tests again"),
        ("fix_lint#2", "fixing what lint found (fix round 2)"),
        ("pull_request", "opening the pull request"),
    ],
)
def test_stage_names_read_as_words(name: str, words: str) -> None:
    assert describe_stage(name) == words


def test_control_characters_and_empty_text_never_make_invalid_adf() -> None:
    blocks: list[Block] = [
        para("", code("")),
        Bullets(((link("", "https://x"),), (code("a\x1b[31mred\x07"),))),
        Quote("\n\n\n"),
        Preformatted("\x00\n"),
        para("line one\nline two\n"),
    ]
    adf = to_adf(blocks)

    assert_valid_adf(adf)
    assert adf_text(adf) == "a[31mred\n\nline one\nline two\n"
    assert to_wiki(blocks) == "* {{a\\[31mred}}\n\nline one\nline two"


def test_the_schema_check_rejects_what_jira_rejects() -> None:
    """The validator is not vacuous: empty text, unknown marks and stray nodes fail it."""
    bad_documents = [
        {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
        },
        {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "x", "marks": [{"type": "bold"}]}],
                }
            ],
        },
        {"type": "doc", "version": 1, "content": [{"type": "text", "text": "not in a paragraph"}]},
        {"type": "doc", "content": []},
    ]
    for document in bad_documents:
        with pytest.raises(AssertionError):
            assert_valid_adf(document)
