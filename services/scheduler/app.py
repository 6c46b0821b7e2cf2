"""The scheduler service: per-contact timers and flow logic."""

from __future__ import annotations

from fastapi import FastAPI

from shared.service import create_service_app
from shared.settings import SchedulerSettings


def create_app(settings: SchedulerSettings | None = None) -> FastAPI:
    settings = settings or SchedulerSettings()
    return create_service_app("scheduler", settings, title="Dripline scheduler")
