"""Rendered overlays, shared by the deployment tests (rendering takes a moment, so once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.kustomize import render

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")

Manifest = dict[str, Any]


def by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    return {overlay: render(K8S / "overlays" / overlay) for overlay in OVERLAYS}
