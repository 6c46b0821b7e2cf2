"""The fallback Kustomize renderer: each feature the manifests use, and agreement with kubectl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.kustomize import KustomizeError, build, load_documents
from tests.deploy.conftest import K8S

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "template": {
            "spec": {
                "initContainers": [{"name": "wait", "image": "app"}],
                "containers": [
                    {"name": "web", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "proxy", "image": "envoy:2"},
                ],
            }
        },
    },
}
TOPIC = {
    "apiVersion": "kafka.strimzi.io/v1beta2",
    "kind": "KafkaTopic",
    "metadata": {"name": "t"},
    "spec": {"partitions": 1, "replicas": 1, "config": {"a": "1"}},
}


def write(root: Path, kustomization: dict[str, object], **files: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    for name, documents in files.items():
        (root / name).write_text(yaml.safe_dump_all(documents))
    return root


def test_overlay_sets_namespace_labels_replicas_and_images(tmp_path: Path) -> None:
    base = write(tmp_path / "base", {"resources": ["app.yaml"]}, **{"app.yaml": [DEPLOYMENT, TOPIC]})
    overlay = write(
        tmp_path / "overlay",
        {
            "resources": [str(base)],
            "namespace": "shop",
            "labels": [{"pairs": {"team": "growth"}}],
            "replicas": [{"name": "web", "count": 3}],
            "images": [{"name": "app", "newName": "registry/app", "newTag": "2"}],
        },
    )
    web, topic = build(overlay)
    assert web["metadata"] == {"name": "web", "namespace": "shop", "labels": {"team": "growth"}}
    assert topic["metadata"]["namespace"] == "shop"
    assert web["spec"]["replicas"] == 3
    pod = web["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["initContainers"] + pod["containers"]] == ["registry/app:2"] * 2 + ["envoy:2"]


def test_strategic_merge_patches_containers_and_env_by_name(tmp_path: Path) -> None:
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}},
    }
    root = write(
        tmp_path,
        {"resources": ["app.yaml"], "patches": [{"path": "patch.yaml"}]},
        **{"app.yaml": [DEPLOYMENT], "patch.yaml": [patch]},
    )
    [web] = build(root)
    web_container, proxy = web["spec"]["template"]["spec"]["containers"]
    assert web_container["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert web_container["image"] == "app:1"
    assert proxy == {"name": "proxy", "image": "envoy:2"}


def test_custom_resources_replace_lists_and_merge_maps(tmp_path: Path) -> None:
    patch = {**TOPIC, "spec": {"config": {"b": "2"}, "partitions": 6}}
    root = write(
        tmp_path, {"resources": ["t.yaml"], "patches": [{"patch": yaml.safe_dump(patch)}]}, **{"t.yaml": [TOPIC]}
    )
    [topic] = build(root)
    assert topic["spec"] == {"partitions": 6, "replicas": 1, "config": {"a": "1", "b": "2"}}


def test_json6902_patch_applies_to_every_target_of_a_kind(tmp_path: Path) -> None:
    other = {**TOPIC, "metadata": {"name": "u"}}
    operations = "- {op: replace, path: /spec/partitions, value: 24}\n- {op: add, path: /spec/config/x~1y, value: '2'}"
    patches = [{"target": {"group": "kafka.strimzi.io", "kind": "KafkaTopic"}, "patch": operations}]
    root = write(tmp_path, {"resources": ["t.yaml"], "patches": patches}, **{"t.yaml": [TOPIC, other]})
    for topic in build(root):
        assert topic["spec"]["partitions"] == 24
        assert topic["spec"]["config"]["x/y"] == "2"


def test_unsupported_features_are_refused_not_ignored(tmp_path: Path) -> None:
    root = write(tmp_path, {"resources": ["t.yaml"], "commonLabels": {"a": "b"}}, **{"t.yaml": [TOPIC]})
    with pytest.raises(KustomizeError, match="commonLabels"):
        build(root)


def test_a_patch_that_matches_nothing_fails(tmp_path: Path) -> None:
    patch = {**TOPIC, "metadata": {"name": "missing"}}
    root = write(
        tmp_path, {"resources": ["t.yaml"], "patches": [{"patch": yaml.safe_dump(patch)}]}, **{"t.yaml": [TOPIC]}
    )
    with pytest.raises(KustomizeError, match="matches nothing"):
        build(root)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("root", ["overlays/dev", "overlays/prod", "jobs/create-topics"])
def test_renderer_agrees_with_kubectl_kustomize(root: str) -> None:
    ours = {(o["kind"], o["metadata"]["name"]): o for o in build(K8S / root)}
    output = subprocess.run(["kubectl", "kustomize", str(K8S / root)], capture_output=True, text=True, check=True)
    theirs = {(o["kind"], o["metadata"]["name"]): o for o in load_documents(output.stdout)}
    assert ours == theirs
