"""Dependencies shared by the routes, as `Annotated` aliases so handlers read in one line."""

from __future__ import annotations

from typing import Annotated

from dbos import Queue
from fastapi import Depends, Request

from app.config import Settings
from app.pipeline.runs import RunStore
from app.pipeline.runtime import Runtime


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> RunStore:
    return request.app.state.store


def get_queue(request: Request) -> Queue:
    return request.app.state.queue


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[RunStore, Depends(get_store)]
QueueDep = Annotated[Queue, Depends(get_queue)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
