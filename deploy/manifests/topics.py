"""The topic contract → Strimzi `KafkaTopic` resources, so the cluster's topics are the code's topics."""

from __future__ import annotations

from typing import Any

from deploy.manifests.config import STRIMZI_CLUSTER
from shared.contract.topics import EVERY_TOPIC, Topic
from shared.settings import CommonSettings

# The base sizing is what `dripline create-topics` uses by default; overlays patch it.
PARTITIONS: int = CommonSettings.model_fields["topic_partitions"].default
REPLICAS: int = CommonSettings.model_fields["topic_replication_factor"].default


def kafka_topic(topic: Topic) -> dict[str, Any]:
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {
            "name": topic.name,
            "labels": {"strimzi.io/cluster": STRIMZI_CLUSTER},
            "annotations": {"dripline.io/producer": topic.producer, "dripline.io/key": topic.key},
        },
        "spec": {
            "topicName": topic.name,
            "partitions": PARTITIONS,
            "replicas": REPLICAS,
            "config": topic.config(),
        },
    }


def kafka_topics() -> list[dict[str, Any]]:
    return [kafka_topic(topic) for topic in EVERY_TOPIC]
