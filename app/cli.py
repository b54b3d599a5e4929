"""The `auto-code` command: `serve` the webhook service, or `run` one ticket from the shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app import logs
from app.config import Settings, SettingsError, load_settings
from app.environment import scrub_environ
from app.errors import PayloadError
from app.hardening import forbid_memory_access
from app.jira import sanitize_text, to_markdown
from app.pipeline.runs import Run, RunStatus, RunStore
from app.ticket import Ticket

EXIT_CODES = {
    RunStatus.SUCCEEDED: 0,
    RunStatus.NO_CHANGES: 0,
    RunStatus.FAILED: 1,
    RunStatus.CANCELLED: 1,
    RunStatus.GATES_FAILING: 3,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auto-code", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the webhook service")
    serve.add_argument("--host", help="bind address (default: HOST setting)")
    serve.add_argument("--port", type=int, help="port (default: PORT setting)")
    run = commands.add_parser("run", help="run one ticket through the pipeline and wait for it")
    run.add_argument("key", help="ticket key, e.g. PROJ-123")
    run.add_argument("--summary", required=True, help="the ticket's summary")
    run.add_argument(
        "--description-file", type=Path, help="file with the description (wiki or Markdown)"
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"auto-code: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    scrub_environ()
    forbid_memory_access()
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    try:
        description = args.description_file.read_text() if args.description_file else ""
        ticket = Ticket(
            key=args.key,
            summary=sanitize_text(args.summary),
            description=to_markdown(description),
        )
    except (OSError, ValueError, PayloadError) as exc:
        print(f"auto-code: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run_one(settings, ticket))


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from app.main import create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=True,
    )
    return 0


async def _run_one(settings: Settings, ticket: Ticket) -> int:
    from app.main import pipeline_running
    from app.pipeline import queue

    async with pipeline_running(settings) as rt:
        admission = rt.store.admit(ticket, delivery_id=None, trigger="cli")
        run = admission.run
        if not admission.created:
            print(f"{ticket.key} already has an active run; following {run.id}")
        assert rt.queue is not None
        await queue.enqueue(rt.queue, run)
        print(f"{run.id} {ticket.key} queued (dry run: {settings.is_dry_run})")
        final = await _follow(rt.store, run.id)
    _print_outcome(final)
    return EXIT_CODES.get(final.status, 1)


async def _follow(store: RunStore, run_id: str) -> Run:
    """Print each stage as it ends, until the run is over."""
    printed = 0
    while True:
        run = store.get(run_id)
        assert run is not None
        stages = run.record.get("stages", [])
        for entry in stages[printed:]:
            if entry.get("status") == "running":
                break
            extra = f" ({entry['error']['message']})" if entry.get("error") else ""
            print(
                f"  {entry['name']:<14} {entry['status']:<7} "
                f"{entry.get('duration_s', 0):7.1f}s{extra}"
            )
            printed += 1
        if run.status.terminal:
            return run
        await asyncio.sleep(0.2)


def _print_outcome(run: Run) -> None:
    record = run.record
    print(f"{run.id} {run.ticket} {run.status.value}")
    for key in ("pr_url", "worktree", "cleanup_command", "explanation"):
        if record.get(key):
            print(f"  {key}: {record[key]}")
    if record.get("error"):
        print(f"  error: {record['error'].get('message')}")
        if record["error"].get("output_tail"):
            print(record["error"]["output_tail"])
    print(f"  cost: ${float(record.get('cost_usd', 0)):.2f}, turns: {record.get('turns', 0)}")
