"""Patch semantics for the Kustomize renderer: target selection, strategic merge and JSON 6902."""

from __future__ import annotations

import copy
import re
from typing import Any

Manifest = dict[str, Any]

# Built-in kinds merge these lists item by item on a key; custom resources replace lists (JSON merge).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
}
PORT_KEYS = {"Service": "port"}


def matches(obj: Manifest, target: dict[str, Any]) -> bool:
    """Kustomize selector semantics: every given field must match; `name` is a full-match regex."""
    if set(target) - {"group", "version", "kind", "name", "namespace"}:
        raise ValueError(f"unsupported patch target fields in {target}")
    group, _, version = obj["apiVersion"].rpartition("/")
    checks = {
        "group": group,
        "version": version,
        "kind": obj["kind"],
        "namespace": obj["metadata"].get("namespace", ""),
    }
    if any(target[field] != value for field, value in checks.items() if field in target):
        return False
    return "name" not in target or re.fullmatch(target["name"], obj["metadata"]["name"]) is not None


def is_builtin(obj: Manifest) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def strategic_merge(obj: Manifest, patch: Manifest) -> Manifest:
    merged: Manifest = _merge(copy.deepcopy(obj), patch, keyed=is_builtin(obj), kind=obj["kind"])
    return merged


def _merge(base: Any, patch: Any, *, keyed: bool, kind: str, field: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            if value is None:
                base.pop(key, None)
            elif key in base:
                base[key] = _merge(base[key], value, keyed=keyed, kind=kind, field=key)
            else:
                base[key] = copy.deepcopy(value)
        return base
    if isinstance(base, list) and isinstance(patch, list) and keyed:
        key = PORT_KEYS.get(kind, "containerPort") if field == "ports" else MERGE_KEYS.get(field)
        if key:
            return _merge_keyed_list(base, patch, key, kind)
    return copy.deepcopy(patch)


def _merge_keyed_list(base: list[Any], patch: list[Any], key: str, kind: str) -> list[Any]:
    merged = list(base)
    for item in patch:
        position = next((i for i, old in enumerate(merged) if old.get(key) == item.get(key)), None)
        if position is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[position] = _merge(merged[position], item, keyed=True, kind=kind)
    return merged


def json_patch(obj: Manifest, operations: list[dict[str, Any]]) -> Manifest:
    """RFC 6902 `add`, `replace` and `remove` (what the overlays use)."""
    result = copy.deepcopy(obj)
    for operation in operations:
        *parents, last = _pointer(operation["path"])
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        op = operation["op"]
        if op not in ("add", "replace", "remove"):
            raise ValueError(f"unsupported JSON patch operation {op!r}")
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if op == "add":
                node.insert(index, copy.deepcopy(operation["value"]))
            elif op == "replace":
                node[index] = copy.deepcopy(operation["value"])
            else:
                del node[index]
        else:
            if op != "add" and last not in node:
                raise KeyError(f"{operation['path']} does not exist")
            if op == "remove":
                del node[last]
            else:
                node[last] = copy.deepcopy(operation["value"])
    return result


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"not a JSON pointer: {path}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]
