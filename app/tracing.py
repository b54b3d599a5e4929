"""Langfuse tracing: one trace per run, a span per stage, the agent's turns inside each stage.

- The trace id is derived from the run id, so a run that a restart resumed carries on in the
  same trace. For the same reason there is no run-wide span (it could not outlive the process):
  each stage span is a top-level observation of the trace, named after the stage.
- Trace name and session id are the ticket key, the run id is trace metadata, all set on every
  span (`propagate_attributes`); a closing `run_finished` event adds the run's status, cost and
  turns to the trace metadata.
- The Claude Agent SDK is instrumented with OpenInference: each response of a session is an
  AGENT span, each tool call a TOOL span under it. A session reads its response inside a
  stage, whose span is then the current one, so the agent's spans nest in the stage span.
- Spans are batched by Langfuse's span processor; a run's end starts a flush in the background.
- Prompts, answers and tool output are text the service did not write: an agent can print its
  own Claude credential. Every configured secret value is redacted from every span on its way
  out (`mask_otel_spans`), whichever instrumentation made the span.

Without both Langfuse keys this module is not even imported (`app.observability`): no client,
no instrumentation, no traffic.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from langfuse import Langfuse, propagate_attributes
from langfuse.types import (
    MaskOtelSpansFunction,
    MaskOtelSpansParams,
    MaskOtelSpansResult,
    OtelSpanPatch,
)
from openinference.instrumentation.claude_agent_sdk import ClaudeAgentSDKInstrumentor
from opentelemetry.util.types import AttributeValue

from app import __version__
from app.config import Settings
from app.pipeline.runs import Run, RunStatus
from app.redaction import redact, searchable

log = logging.getLogger("auto_code.tracing")


def trace_id(run_id: str) -> str:
    """The run's trace id (32 hex digits): the same in every process that works on the run."""
    return Langfuse.create_trace_id(seed=run_id)


class Tracing:
    """The run observer that writes Langfuse traces (see `app.pipeline.observers`)."""

    def __init__(self, client: Langfuse) -> None:
        self.client = client

    @asynccontextmanager
    async def stage(self, run: Run, name: str) -> AsyncIterator[None]:
        error: BaseException | None = None
        with (
            propagate_attributes(
                trace_name=run.ticket, session_id=run.ticket, metadata={"run_id": run.id}
            ),
            self.client.start_as_current_observation(
                name=name, trace_context={"trace_id": trace_id(run.id)}
            ) as span,
        ):
            try:
                yield
            except BaseException as exc:
                # Raised after the span has ended, so OpenTelemetry records no exception event:
                # its message (command output, CLI stderr) would escape the redaction, which
                # patches attributes only. The run record has the error in full.
                span.update(level="ERROR", status_message=type(exc).__name__)
                error = exc
        if error is not None:
            raise error

    async def run_finished(self, run: Run) -> None:
        record = run.record
        outcome = {
            "status": run.status.value,
            "cost_usd": float(record.get("cost_usd", 0.0)),
            "turns": int(record.get("turns", 0)),
        }
        with propagate_attributes(
            trace_name=run.ticket,
            session_id=run.ticket,
            metadata={"run_id": run.id, **outcome},
        ):
            self.client.create_event(
                trace_context={"trace_id": trace_id(run.id)},
                name="run_finished",
                output={
                    **outcome,
                    "pr_url": record.get("pr_url"),
                    "error": (record.get("error") or {}).get("message"),
                },
                level="ERROR" if run.status == RunStatus.FAILED else "DEFAULT",
            )
        # Sent now, not awaited: a slow or unreachable Langfuse must not hold the worker slot.
        threading.Thread(target=self.client.flush, name="langfuse-flush", daemon=True).start()

    async def aclose(self) -> None:
        """Send what is still batched before the service stops."""
        await asyncio.to_thread(self.client.flush)


def redacting(secrets: list[str]) -> MaskOtelSpansFunction:
    """A Langfuse export hook that replaces `secrets` in every string attribute of a span."""

    def clean(value: AttributeValue) -> AttributeValue:
        if isinstance(value, str):
            return redact(value, secrets)
        if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            return tuple(redact(v, secrets) for v in value)
        return value

    def mask(*, params: MaskOtelSpansParams) -> MaskOtelSpansResult:
        patches = {}
        for identifier, span in params.spans.items():
            attributes = span.attributes or {}
            changed = {k: c for k, v in attributes.items() if (c := clean(v)) != v}
            if changed:
                patches[identifier] = OtelSpanPatch(set_attributes=changed)
        return MaskOtelSpansResult(span_patches=patches)

    return mask


def build_tracing(settings: Settings) -> Tracing:
    """The tracing observer; call it only when `settings.langfuse_enabled`."""
    assert settings.langfuse_public_key and settings.langfuse_secret_key
    client = Langfuse(
        public_key=settings.langfuse_public_key.get_secret_value(),
        secret_key=settings.langfuse_secret_key.get_secret_value(),
        base_url=settings.langfuse_base_url,
        environment=settings.environment,
        release=__version__,
        flush_interval=settings.langfuse_flush_interval_s,
        mask_otel_spans=redacting(searchable(settings.secret_values())),
    )
    # Langfuse registered its tracer provider globally; the instrumentation's spans go there.
    # Instrumenting patches the SDK's client class once per process (a repeat is a no-op).
    instrumentor = ClaudeAgentSDKInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    log.info("tracing_enabled", extra={"langfuse_base_url": settings.langfuse_base_url})
    return Tracing(client)
