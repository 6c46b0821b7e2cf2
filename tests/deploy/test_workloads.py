"""What each workload promises the cluster: probes, shutdown, security, spreading, metrics, exposure."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from deploy.manifests.workloads import PRE_STOP_SECONDS
from services.scheduler.workers.duties import Duties
from shared.settings import SchedulerSettings
from tests.deploy.conftest import OVERLAYS, Manifest, by_kind

SERVICES = ("ingest", "scheduler", "sender", "tracker")
# Deployment → the service its pods run: the analytics fold runs in a scheduler of its own.
DEPLOYMENTS = {**{name: name for name in SERVICES}, "analytics": "scheduler"}
PUBLIC = ("ingest", "tracker")


def main_container(deployment: Manifest) -> Manifest:
    container: Manifest = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def config(objects: list[Manifest], service: str) -> dict[str, str]:
    maps = by_kind(objects, "ConfigMap")
    return {**maps["dripline-common"]["data"], **maps[f"dripline-{service}"]["data"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("workload", "service"), DEPLOYMENTS.items())
def test_service_listens_where_probes_metrics_and_service_point(
    rendered: dict[str, list[Manifest]], overlay: str, workload: str, service: str
) -> None:
    objects = rendered[overlay]
    deployment = by_kind(objects, "Deployment")[f"dripline-{workload}"]
    container = main_container(deployment)
    settings = config(objects, service)
    [port] = container["ports"]
    assert port == {
        "name": "http",
        "containerPort": int(settings[f"DRIPLINE_{service.upper()}_PORT"]),
        "protocol": "TCP",
    }
    assert settings[f"DRIPLINE_{service.upper()}_HOST"] == "0.0.0.0"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port["containerPort"]),
        "prometheus.io/path": "/metrics",
    }
    [service_port] = by_kind(objects, "Service")[f"dripline-{workload}"]["spec"]["ports"]
    assert (service_port["name"], service_port["targetPort"]) == ("http", "http")


def duties(objects: list[Manifest], deployment: str) -> Duties:
    """What the deployment's scheduler runs: its ConfigMaps' switches, under its own env values."""
    container = main_container(by_kind(objects, "Deployment")[deployment])
    config_maps = by_kind(objects, "ConfigMap")
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        env |= config_maps[source["configMapRef"]["name"]]["data"]
    env |= {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}
    switches = ("scheduler_intake", "scheduler_timers", "scheduler_analytics")
    return Duties.of(SchedulerSettings.model_validate({name: env[f"DRIPLINE_{name.upper()}"] for name in switches}))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_analytics_fold_runs_in_its_own_workload_only(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    objects = rendered[overlay]
    assert duties(objects, "dripline-scheduler") == Duties(intake=True, timers=True, relay=True, analytics=False)
    assert duties(objects, "dripline-analytics") == Duties(intake=False, timers=False, relay=False, analytics=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_outlive_their_shutdown_grace(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    grace = float(by_kind(rendered[overlay], "ConfigMap")["dripline-common"]["data"]["DRIPLINE_SHUTDOWN_GRACE_SECONDS"])
    for deployment in by_kind(rendered[overlay], "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > grace + PRE_STOP_SECONDS
        assert main_container(deployment)["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRE_STOP_SECONDS)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_locked_down_and_spread(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    for deployment in by_kind(rendered[overlay], "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["initContainers"] + pod["containers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert set(container["resources"]) == {"requests", "limits"}
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        keys = {c["topologyKey"]: c["labelSelector"]["matchLabels"] for c in pod["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone": selector, "kubernetes.io/hostname": selector}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_start_after_migrations(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    job = by_kind(rendered[overlay], "Job")["dripline-migrate"]
    assert main_container(job)["args"] == ["migrate"]
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for deployment in by_kind(rendered[overlay], "Deployment").values():
        [init] = deployment["spec"]["template"]["spec"]["initContainers"]
        assert init["args"] == ["wait-for-schema"]
        assert init["image"] == main_container(deployment)["image"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_ingest_and_tracker_are_public_and_autoscaled(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    objects = rendered[overlay]
    assert sorted(by_kind(objects, "Service")) == [f"dripline-{name}" for name in sorted(DEPLOYMENTS)]
    assert sorted(by_kind(objects, "PodDisruptionBudget")) == [f"dripline-{name}" for name in sorted(DEPLOYMENTS)]
    backends = {
        path["backend"]["service"]["name"]
        for ingress in by_kind(objects, "Ingress").values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {f"dripline-{name}" for name in PUBLIC}
    autoscalers = by_kind(objects, "HorizontalPodAutoscaler")
    assert sorted(autoscalers) == [f"dripline-{name}" for name in PUBLIC]
    deployments = by_kind(objects, "Deployment")
    for name, autoscaler in autoscalers.items():
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert autoscaler["spec"]["scaleTargetRef"]["name"] == name
        assert autoscaler["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert "replicas" not in deployments[name]["spec"], "the HPA owns the replica count"
        assert "requests" in main_container(deployments[name])["resources"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_links_in_emails_point_at_the_tracker_ingress(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    public_url = by_kind(rendered[overlay], "ConfigMap")["dripline-common"]["data"]["DRIPLINE_TRACKER_PUBLIC_URL"]
    tracker = by_kind(rendered[overlay], "Ingress")["dripline-tracker"]["spec"]
    assert urlparse(public_url).hostname == tracker["rules"][0]["host"]
    assert tracker["rules"][0]["host"] in tracker["tls"][0]["hosts"]


def test_overlays_differ_where_environments_do(rendered: dict[str, list[Manifest]]) -> None:
    dev, prod = (by_kind(rendered[name], "Deployment")["dripline-sender"] for name in ("dev", "prod"))
    assert dev["metadata"]["namespace"] != prod["metadata"]["namespace"]
    assert main_container(dev)["image"] != main_container(prod)["image"]
    assert prod["spec"]["replicas"] > dev["spec"]["replicas"]
    assert main_container(prod)["resources"] != main_container(dev)["resources"]
    dev_hpa, prod_hpa = (by_kind(rendered[n], "HorizontalPodAutoscaler")["dripline-ingest"] for n in ("dev", "prod"))
    assert prod_hpa["spec"]["maxReplicas"] > dev_hpa["spec"]["maxReplicas"]
