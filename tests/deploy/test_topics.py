"""The cluster's KafkaTopics are the contract's topics, sized consistently with the consumers."""

from __future__ import annotations

import pytest

from shared.contract.topics import CONTACTS, EVERY_TOPIC
from tests.deploy.conftest import OVERLAYS, Manifest, by_kind

# Scheduler, sender and the analytics fold consume by contact id: a replica beyond the partition count sits idle.
PARTITIONED_CONSUMERS = ("dripline-scheduler", "dripline-sender", "dripline-analytics")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_contract_topic_has_a_kafka_topic_with_its_config(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    topics = by_kind(rendered[overlay], "KafkaTopic")
    assert sorted(topics) == sorted(topic.name for topic in EVERY_TOPIC)
    for topic in EVERY_TOPIC:
        spec = topics[topic.name]["spec"]
        assert spec["topicName"] == topic.name
        contract_config = {key: spec["config"][key] for key in topic.config()}
        assert contract_config == topic.config(), topic.name
        assert spec["config"].get("retention.ms") == (None if topic.compacted else str(topic.retention_ms))


def test_contact_changes_are_compacted_and_forget_an_erased_profile_within_a_day(
    rendered: dict[str, list[Manifest]],
) -> None:
    for objects in rendered.values():
        config = by_kind(objects, "KafkaTopic")[CONTACTS.name]["spec"]["config"]
        assert config["cleanup.policy"] == "compact"
        # Out of the active segment, then compacted: both within the 24 hours docs/privacy.md promises.
        assert int(config["segment.ms"]) + int(config["max.compaction.lag.ms"]) < 24 * 3600 * 1000
        assert float(config["min.cleanable.dirty.ratio"]) <= 0.5 and "delete.retention.ms" in config


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topic_sizing_matches_what_create_topics_would_use(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    common = by_kind(rendered[overlay], "ConfigMap")["dripline-common"]["data"]
    for topic in by_kind(rendered[overlay], "KafkaTopic").values():
        assert topic["spec"]["partitions"] == int(common["DRIPLINE_TOPIC_PARTITIONS"])
        assert topic["spec"]["replicas"] == int(common["DRIPLINE_TOPIC_REPLICATION_FACTOR"])


def test_prod_has_more_partitions_and_replicated_topics(rendered: dict[str, list[Manifest]]) -> None:
    dev = next(iter(by_kind(rendered["dev"], "KafkaTopic").values()))["spec"]
    prod = next(iter(by_kind(rendered["prod"], "KafkaTopic").values()))["spec"]
    assert prod["partitions"] > dev["partitions"]
    assert prod["replicas"] >= 3
    assert int(prod["config"]["min.insync.replicas"]) < prod["replicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_partitioned_consumers_have_no_more_replicas_than_partitions(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    partitions = min(t["spec"]["partitions"] for t in by_kind(rendered[overlay], "KafkaTopic").values())
    deployments = by_kind(rendered[overlay], "Deployment")
    for name in PARTITIONED_CONSUMERS:
        assert 1 <= deployments[name]["spec"]["replicas"] <= partitions, name
