"""The four services, the analytics fold and the migration job as Kubernetes objects, from one pod template.

Every workload runs the same image; the first argument picks what it runs (see docker/entrypoint.sh).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy.manifests.config import SERVICE_SETTINGS, config_value, container_env, env_name, settings_of
from shared.settings import CommonSettings

IMAGE = "dripline"
UID = 10001
# Ingest and tracker answer the public and scale on CPU; scheduler and sender scale with partitions.
AUTOSCALED = ("ingest", "tracker")
FIXED_REPLICAS = 2
# Endpoints take a moment to drop a terminating pod; keep serving meanwhile, then shut down.
PRE_STOP_SECONDS = 5
GRACE_SECONDS = int(CommonSettings.model_fields["shutdown_grace_seconds"].default) + PRE_STOP_SECONDS + 10


@dataclass(frozen=True)
class Workload:
    """A Deployment with its Service and disruption budget: a service, in the shape its own settings give it."""

    component: str
    service: str
    replicas: int = FIXED_REPLICAS
    settings: dict[str, object] = field(default_factory=dict)  # set on these pods, over the ConfigMaps

    def env(self) -> list[dict[str, Any]]:
        fields = SERVICE_SETTINGS[self.service].model_fields
        return [{"name": env_name(name, fields[name]), "value": config_value(v)} for name, v in self.settings.items()]


# A scheduler that runs only the analytics fold (a consumer group of its own), so it scales apart from
# the others; the scheduler ConfigMap turns the fold off everywhere else (config.CLUSTER_VALUES).
ANALYTICS = Workload(
    "analytics",
    "scheduler",
    replicas=1,
    settings={"scheduler_intake": False, "scheduler_timers": False, "scheduler_analytics": True},
)
WORKLOADS = (*(Workload(name, name) for name in SERVICE_SETTINGS), ANALYTICS)


def labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "dripline", "app.kubernetes.io/component": component}


def port_of(service: str) -> int:
    port: int = SERVICE_SETTINGS[service].model_fields[f"{service}_port"].default
    return port


def _container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def _container(name: str, args: list[str], settings: type[CommonSettings], service: str | None) -> dict[str, Any]:
    env_from, env = container_env(settings_of(settings, service))
    return {
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "envFrom": env_from,
        "env": env,
        "resources": _resources("50m", "128Mi", "500m", "256Mi"),
        "securityContext": _container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod_spec(containers: list[dict[str, Any]], init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": _pod_security(),
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if init:
        spec["initContainers"] = init
    return spec


def _spread(service: str) -> list[dict[str, Any]]:
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": labels(service)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def deployment(workload: Workload) -> dict[str, Any]:
    service, component = workload.service, workload.component
    port = port_of(service)
    container = _container(component, [service], SERVICE_SETTINGS[service], service)
    container |= {
        "env": sorted(container["env"] + workload.env(), key=lambda entry: str(entry["name"])),
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "resources": _resources("100m", "256Mi", "1", "512Mi"),
        "startupProbe": _probe("/healthz", period=2, failures=30),
        "readinessProbe": _probe("/readyz", period=5, failures=3),
        "livenessProbe": _probe("/healthz", period=10, failures=3),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS)]}}},
    }
    # Waits (does not migrate) so a new version's pods start only on the schema it needs.
    wait = _container("wait-for-schema", ["wait-for-schema"], CommonSettings, None)
    spec: dict[str, Any] = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": labels(component)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {
                "labels": labels(component),
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(port),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": _pod_spec([container], [wait])
            | {"terminationGracePeriodSeconds": GRACE_SECONDS, "topologySpreadConstraints": _spread(component)},
        },
    }
    if component not in AUTOSCALED:
        spec = {"replicas": workload.replicas, **spec}  # the HPA owns the count of the others
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(component), "spec": spec}


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _meta(component: str) -> dict[str, Any]:
    return {"name": f"dripline-{component}", "labels": labels(component)}


def service(workload: Workload) -> dict[str, Any]:
    port = port_of(workload.service)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(workload.component),
        "spec": {
            "type": "ClusterIP",
            "selector": labels(workload.component),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(name)}},
    }


def job(command: str) -> dict[str, Any]:
    """A run-to-completion task: `migrate` before every rollout, `create-topics` once without Strimzi."""
    container = _container(command, [command], CommonSettings, None)
    pod = _pod_spec([container]) | {"restartPolicy": "Never"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(command),
        "spec": {
            "backoffLimit": 4,
            "activeDeadlineSeconds": 900,
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": labels(command)}, "spec": pod},
        },
    }


def workloads() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [job("migrate")]
    for workload in WORKLOADS:
        objects += [deployment(workload), service(workload), disruption_budget(workload.component)]
    return objects
