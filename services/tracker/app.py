"""The tracker service: opens, clicks and unsubscribes, back onto the bus."""

from __future__ import annotations

from fastapi import FastAPI

from shared.service import create_service_app
from shared.settings import TrackerSettings


def create_app(settings: TrackerSettings | None = None) -> FastAPI:
    settings = settings or TrackerSettings()
    return create_service_app("tracker", settings, title="Dripline tracker")
