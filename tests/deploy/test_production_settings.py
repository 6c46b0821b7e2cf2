"""What the image and the manifests run is production: built-in secrets refused, SMTP only over TLS."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import OVERLAYS, Manifest, by_kind
from tests.deploy.test_image import DOCKER, parse_dockerfile


def test_the_image_runs_every_workload_as_production() -> None:
    final = parse_dockerfile((DOCKER / "Dockerfile").read_text())[-1]
    assert any("DRIPLINE_ENVIRONMENT=production" in env.split() for env in final.arguments("ENV"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_cluster_config_says_production_and_smtp_tls_required(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    config_maps = by_kind(rendered[overlay], "ConfigMap")
    assert config_maps["dripline-common"]["data"]["DRIPLINE_ENVIRONMENT"] == "production"
    assert config_maps["dripline-sender"]["data"]["DRIPLINE_SMTP_TLS"] == "require"
