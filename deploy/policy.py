"""Rules the API schemas cannot express but a cluster (or an outage) would enforce anyway.

Every container has a pinned image, requests and limits and a locked-down security context, and
a probe that names a port names one the container declares.
"""

from __future__ import annotations

from typing import Any

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj.get("kind") not in POD_TEMPLATE_KINDS:
        return None
    spec: dict[str, Any] = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def policy_problems(obj: dict[str, Any]) -> list[str]:
    spec = pod_spec(obj)
    if spec is None:
        return []
    found = _pod_problems(spec)
    for container in containers(spec):
        found += [f"container {container.get('name')}: {problem}" for problem in _container_problems(container)]
    return found


def _pod_problems(spec: dict[str, Any]) -> list[str]:
    security = spec.get("securityContext", {})
    found = []
    if security.get("runAsNonRoot") is not True:
        found.append("pod must set securityContext.runAsNonRoot: true")
    if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        found.append("pod must use the RuntimeDefault seccomp profile")
    return found


def _container_problems(container: dict[str, Any]) -> list[str]:
    found = []
    image = container.get("image", "")
    if not image:
        found.append("has no image")
    elif "@" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")):
        found.append(f"image {image!r} is not pinned to a tag or digest")
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(kind, {})):
            found.append(f"needs cpu and memory {kind}")
    security = container.get("securityContext", {})
    if security.get("allowPrivilegeEscalation") is not False:
        found.append("must set allowPrivilegeEscalation: false")
    if security.get("readOnlyRootFilesystem") is not True:
        found.append("must set readOnlyRootFilesystem: true")
    if security.get("capabilities", {}).get("drop") != ["ALL"]:
        found.append("must drop ALL capabilities")
    declared = {port.get("name") for port in container.get("ports", [])}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        port = container.get(probe, {}).get("httpGet", {}).get("port")
        if isinstance(port, str) and port not in declared:
            found.append(f"{probe} uses port {port!r}, which the container does not declare")
    return found
