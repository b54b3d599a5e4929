"""Observers of runs: tracing, metrics and Jira write-back watch stages without steering them.

An observer wraps each stage (so a tracing span can be the parent of what the stage does) and
hears when a run ends. A failing observer is logged and otherwise ignored: nothing it does may
fail or hold up a run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Protocol

from app.pipeline.runs import Run

log = logging.getLogger("auto_code.observers")


class RunObserver(Protocol):
    def stage(self, run: Run, name: str) -> AbstractAsyncContextManager[None]:
        """Entered when the stage starts, exited when it ends (with its error, if any)."""
        ...

    async def run_finished(self, run: Run) -> None:
        """The run reached its terminal status (called once per run)."""
        ...


@asynccontextmanager
async def observed_stage(
    observers: Sequence[RunObserver], run: Run, name: str
) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for observer in observers:
            try:
                await stack.enter_async_context(_shielded(observer.stage(run, name), observer))
            except Exception:
                log.exception("observer_failed", extra={"observer": type(observer).__name__})
        yield


@asynccontextmanager
async def _shielded(
    context: AbstractAsyncContextManager[None], observer: RunObserver
) -> AsyncIterator[None]:
    """Run an observer's stage context; its own errors on exit are logged, never raised."""
    await context.__aenter__()
    try:
        yield
    except BaseException as exc:
        try:
            await context.__aexit__(type(exc), exc, exc.__traceback__)
        except Exception:
            log.exception("observer_failed", extra={"observer": type(observer).__name__})
        raise
    else:
        try:
            await context.__aexit__(None, None, None)
        except Exception:
            log.exception("observer_failed", extra={"observer": type(observer).__name__})


async def notify_finished(observers: Sequence[RunObserver], run: Run) -> None:
    for observer in observers:
        try:
            await observer.run_finished(run)
        except Exception:
            log.exception("observer_failed", extra={"observer": type(observer).__name__})


def catch_up_observers(observers: Sequence[RunObserver]) -> None:
    """Once the pipeline runs: observers with writes to catch up on (`catch_up`, e.g. the final
    Jira comment of a run that ended while Jira was down) start them in the background.
    """
    for observer in observers:
        catch_up = getattr(observer, "catch_up", None)
        if catch_up is None:
            continue
        try:
            catch_up()
        except Exception:
            log.exception("observer_failed", extra={"observer": type(observer).__name__})


async def close_observers(observers: Sequence[RunObserver]) -> None:
    """Before the service stops: let observers with work in the background (`aclose`) end it.

    Optional: an observer that writes nothing in the background has no `aclose`.
    """
    for observer in observers:
        close = getattr(observer, "aclose", None)
        if close is None:
            continue
        try:
            await close()
        except Exception:
            log.exception("observer_failed", extra={"observer": type(observer).__name__})
