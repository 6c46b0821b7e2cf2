"""A small Kustomize renderer for the features these manifests use, so validation runs without kubectl.

Supported: resources (files and directories), namespace, labels (pairs), replicas, images and
patches (strategic merge, from a file or inline, or JSON 6902 with a target). Anything else is
refused rather than silently ignored; `render` prefers `kubectl kustomize` when it is installed.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from deploy.patching import json_patch, matches, strategic_merge

Manifest = dict[str, Any]
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "replicas", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume"}
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet"}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is broken."""


def load_documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render(root: Path) -> list[Manifest]:
    """`kubectl kustomize` when available (the reference), else this module's renderer."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        result = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True, text=True, check=True)
        return load_documents(result.stdout)
    return build(root)


def build(root: Path) -> list[Manifest]:
    kustomization = _load_kustomization(root)
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = root / entry
        objects += build(path) if path.is_dir() else load_documents(path.read_text())
    for patch in kustomization.get("patches", []):
        objects = _apply_patch(objects, root, patch)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    for label in kustomization.get("labels", []):
        _add_labels(objects, label)
    for replica in kustomization.get("replicas", []):
        for obj in objects:
            if obj["kind"] in SCALABLE and obj["metadata"]["name"] == replica["name"]:
                obj["spec"]["replicas"] = replica["count"]
    for image in kustomization.get("images", []):
        for obj in objects:
            _set_image(obj, image)
    return objects


def _load_kustomization(root: Path) -> dict[str, Any]:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (root / name).exists():
            loaded: dict[str, Any] = yaml.safe_load((root / name).read_text()) or {}
            unknown = set(loaded) - SUPPORTED
            if unknown:
                raise KustomizeError(f"{root / name}: unsupported fields {sorted(unknown)}")
            return loaded
    raise KustomizeError(f"no kustomization in {root}")


def _add_labels(objects: list[Manifest], label: dict[str, Any]) -> None:
    if label.get("includeSelectors") or label.get("includeTemplates"):
        raise KustomizeError("labels: only plain `pairs` (metadata labels) are supported")
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(label["pairs"])


def _apply_patch(objects: list[Manifest], root: Path, patch: dict[str, Any]) -> list[Manifest]:
    if set(patch) - {"path", "patch", "target"}:
        raise KustomizeError(f"patch fields {sorted(patch)} are not supported")
    text = (root / patch["path"]).read_text() if "path" in patch else patch["patch"]
    loaded = load_documents(text)
    target = patch.get("target")
    if loaded and isinstance(loaded[0], list):  # JSON 6902 operations
        if target is None:
            raise KustomizeError("a JSON 6902 patch needs a target")
        selected = [obj for obj in objects if matches(obj, target)]
        if not selected:
            raise KustomizeError(f"patch target {target} matches nothing")
        return [json_patch(obj, loaded[0]) if obj in selected else obj for obj in objects]
    for document in loaded:
        objects = _merge_into(objects, document, target)
    return objects


def _merge_into(objects: list[Manifest], document: Manifest, target: dict[str, Any] | None) -> list[Manifest]:
    selector = target or {"kind": document["kind"], "name": re.escape(document["metadata"]["name"])}
    result: list[Manifest] = []
    hit = False
    for obj in objects:
        if matches(obj, selector):
            hit = True
            body = copy.deepcopy(document)
            body["metadata"]["name"] = obj["metadata"]["name"]
            result.append(strategic_merge(obj, body))
        else:
            result.append(obj)
    if not hit:
        raise KustomizeError(f"patch for {selector} matches nothing")
    return result


def _set_image(node: Any, image: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    container["image"] = _retag(container["image"], image)
            else:
                _set_image(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_image(item, image)


def _retag(reference: str, image: dict[str, str]) -> str:
    name, _, digest = reference.partition("@")
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != image["name"]:
        return reference
    name = image.get("newName", name)
    if "digest" in image:
        return f"{name}@{image['digest']}"
    if "newTag" in image:
        return f"{name}:{image['newTag']}"
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
