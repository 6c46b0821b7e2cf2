"""Every rendered object passes the Kubernetes schemas, the KafkaTopic schema and the policy; broken ones fail."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from deploy.kustomize import build, render
from deploy.validate import problems, validate_all
from tests.deploy.conftest import K8S, Manifest, by_kind


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_object_of_the_overlay_is_valid(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    assert validate_all(rendered[overlay]) == []


def test_the_standalone_create_topics_job_is_valid() -> None:
    assert validate_all(render(K8S / "jobs" / "create-topics")) == []


def _ingest(rendered: dict[str, list[Manifest]]) -> Manifest:
    return copy.deepcopy(by_kind(rendered["prod"], "Deployment")["dripline-ingest"])


def _container(deployment: Manifest) -> Manifest:
    container: Manifest = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_a_string_where_an_integer_belongs_fails(rendered: dict[str, list[Manifest]]) -> None:
    broken = _ingest(rendered)
    _container(broken)["readinessProbe"]["periodSeconds"] = "5"
    assert any("periodSeconds" in problem for problem in problems(broken))


def test_a_misspelt_field_fails(rendered: dict[str, list[Manifest]]) -> None:
    broken = _ingest(rendered)
    _container(broken)["livenessProbe"]["httpGet"]["prot"] = "http"
    assert any("'prot' was unexpected" in problem for problem in problems(broken))


def test_a_container_without_an_image_fails(rendered: dict[str, list[Manifest]]) -> None:
    broken = _ingest(rendered)
    del _container(broken)["image"]
    assert any("has no image" in problem for problem in problems(broken))


def test_a_probe_on_an_undeclared_port_fails(rendered: dict[str, list[Manifest]]) -> None:
    broken = _ingest(rendered)
    _container(broken)["readinessProbe"]["httpGet"]["port"] = "web"
    assert any("does not declare" in problem for problem in problems(broken))


def test_a_root_capable_container_fails(rendered: dict[str, list[Manifest]]) -> None:
    broken = _ingest(rendered)
    del _container(broken)["securityContext"]["capabilities"]
    broken["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False
    found = problems(broken)
    assert any("drop ALL" in problem for problem in found)
    assert any("runAsNonRoot" in problem for problem in found)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("partitions", "24", "not of type 'integer'"),
        ("replicas", 0, "less than the minimum"),
        ("size", 1, "unexpected"),
    ],
)
def test_a_broken_kafka_topic_fails(
    rendered: dict[str, list[Manifest]], field: str, value: object, message: str
) -> None:
    broken = copy.deepcopy(next(iter(by_kind(rendered["prod"], "KafkaTopic").values())))
    broken["spec"][field] = value
    assert any(message in problem for problem in problems(broken))


def test_a_kafka_topic_without_its_cluster_label_fails(rendered: dict[str, list[Manifest]]) -> None:
    broken = copy.deepcopy(next(iter(by_kind(rendered["dev"], "KafkaTopic").values())))
    broken["metadata"]["labels"].pop("strimzi.io/cluster")
    assert any("strimzi.io/cluster" in problem for problem in problems(broken))


def test_an_overlay_without_an_image_tag_fails() -> None:
    assert any("not pinned" in problem for problem in validate_all(build(K8S / "base")))


def test_breaking_a_copy_of_the_manifests_fails_validation(tmp_path: Path) -> None:
    copied = tmp_path / "k8s"
    shutil.copytree(K8S, copied)
    workloads = copied / "base" / "workloads.yaml"
    text = workloads.read_text()
    assert "containerPort: 8004" in text
    workloads.write_text(text.replace("containerPort: 8004", "containerPort: '8004'"))
    found = validate_all(render(copied / "overlays" / "prod"))
    assert found, "a string containerPort must not validate"
    assert all("dripline-tracker" in problem and "containerPort" in problem for problem in found)
