"""Offline validation of rendered manifests: `python -m deploy.validate deploy/k8s/overlays/prod`.

Kubernetes objects are checked against the API's own OpenAPI-derived schemas (strict: unknown
fields fail too) and deploy/policy.py; Strimzi `KafkaTopic` objects against deploy/schemas/kafkatopic.json.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from deploy.kustomize import render
from deploy.policy import policy_problems

KUBERNETES_VERSION = "1.30"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
CUSTOM_SCHEMAS = {("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafkatopic.json"}


@lru_cache
def custom_schema(filename: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / filename).read_text())
    return schema


def problems(obj: dict[str, Any]) -> list[str]:
    """Why `obj` would be rejected; empty when it is valid."""
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    custom = CUSTOM_SCHEMAS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if custom:
        validator = jsonschema.Draft202012Validator(custom_schema(custom))
        return [f"{name}: {_where(error.path)}: {error.message}" for error in validator.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{name}: {_where(error.path)}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{name}: {error.message}"]
    return [f"{name}: {problem}" for problem in policy_problems(obj)]


def _where(path: Any) -> str:
    return ".".join(str(part) for part in path) or "(root)"


def validate_all(objects: list[dict[str, Any]]) -> list[str]:
    return [problem for obj in objects for problem in problems(obj)]


def main(argv: list[str]) -> int:
    failed = False
    for root in argv:
        for problem in validate_all(render(Path(root))):
            failed = True
            sys.stderr.write(f"{root}: {problem}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
