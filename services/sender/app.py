"""The sender service: renders and delivers messages."""

from __future__ import annotations

from fastapi import FastAPI

from shared.service import create_service_app
from shared.settings import SenderSettings


def create_app(settings: SenderSettings | None = None) -> FastAPI:
    settings = settings or SenderSettings()
    return create_service_app("sender", settings, title="Dripline sender")
