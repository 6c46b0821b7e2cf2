"""Merging what a shop says about a contact into the profile Dripline keeps."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeVar

from shared.contract.contacts import ContactFields
from shared.identity import IDENTIFIER_PRIORITY, IdentifierKind

PROFILE_FIELDS = tuple(name for name in ContactFields.model_fields if name not in ("attributes", "tags"))


def profile_update(fields: ContactFields) -> dict[str, Any]:
    """Only what was said: unset fields never erase what is already known."""
    return fields.model_dump(mode="json", exclude_none=True, exclude_defaults=True, exclude={"contact_id"})


def merge_profile(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Later values win field by field; attributes merge key by key; tags accumulate."""
    merged = dict(current)
    for name, value in update.items():
        if name == "attributes":
            merged["attributes"] = {**current.get("attributes", {}), **value}
        elif name == "tags":
            merged["tags"] = sorted(set(current.get("tags", [])) | set(value))
        else:
            merged[name] = value
    return merged


K = TypeVar("K", bound=Hashable)


def merge_in_order(
    current: Mapping[K, dict[str, Any]], updates: Sequence[tuple[K, dict[str, Any] | None]]
) -> tuple[list[dict[str, Any] | None], dict[K, dict[str, Any]]]:
    """Each event's profile after its own update, in arrival order, and each contact's profile at the end.

    Several events of one group may be about one contact: each sees the ones before it.
    """
    latest: dict[K, dict[str, Any]] = {}
    after: list[dict[str, Any] | None] = []
    for key, update in updates:
        if update is None:
            after.append(None)
            continue
        profile = latest[key] = merge_profile(latest.get(key, current.get(key, {})), update)
        after.append(profile)
    return after, latest


def identifiers_of(fields: ContactFields) -> list[tuple[IdentifierKind, str]]:
    found: list[tuple[IdentifierKind, str]] = []
    for kind in IDENTIFIER_PRIORITY:
        value = getattr(fields, kind)
        if value:
            found.append((kind, str(value)))
    return found


_ONLY_WHO = frozenset({"external_id", "contact_id"})


def carries_profile(fields: ContactFields) -> bool:
    """True when the reference says more than who the contact is (or says an address to reach them at).

    Reads the fields the caller set rather than dumping the model: this runs for every event.
    """
    return any(getattr(fields, name) not in (None, [], {}) for name in fields.model_fields_set - _ONLY_WHO)
