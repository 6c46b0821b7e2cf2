"""Deterministic ids and buckets: the same inputs always give the same answer, across replays."""

from __future__ import annotations

import hashlib
import uuid

from shared.ids import uuid5_text

_NAMESPACE = uuid.UUID("6f1d7c3e-3c2b-5d0a-9a56-1f2e8b7c4d10")


def message_id(workspace_id: str, contact_id: str, flow_id: str, version: int, step_id: str, occurrence: str) -> str:
    """A UUIDv5 over everything that makes a message unique, so re-processing never sends twice."""
    key = "/".join((workspace_id, contact_id, flow_id, str(version), step_id, occurrence))
    return uuid5_text(_NAMESPACE, key)


def bucket(contact_id: str, flow_id: str, step_id: str, modulo: int) -> int:
    """A sticky bucket in [0, modulo): a contact lands in the same split variant every time."""
    digest = hashlib.sha256(f"{contact_id}\x1f{flow_id}\x1f{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % modulo


def pick_variant(contact_id: str, flow_id: str, step_id: str, weights: list[int]) -> int:
    """Index of the weighted variant this contact belongs to."""
    point = bucket(contact_id, flow_id, step_id, sum(weights))
    for index, weight in enumerate(weights):
        if point < weight:
            return index
        point -= weight
    return len(weights) - 1
