"""The observers that watch every run (see `app.pipeline.observers`), chosen from the settings."""

from __future__ import annotations

from app.config import Settings
from app.jira import writeback
from app.metrics import RunMetrics
from app.pipeline.observers import RunObserver
from app.pipeline.runs import RunStore


def build_observers(settings: Settings, store: RunStore) -> list[RunObserver]:
    observers: list[RunObserver] = [RunMetrics(), *writeback.from_settings(settings, store)]
    if settings.langfuse_enabled:
        from app.tracing import build_tracing  # Langfuse and OpenTelemetry load only when used

        observers.append(build_tracing(settings))
    return observers
