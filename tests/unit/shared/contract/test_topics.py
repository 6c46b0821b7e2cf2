"""The contract is the analysts' API: one registry, documented, and the docs never stale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dripline.settings_table import README, updated_readme
from shared.contract.contacts import contact_key, erased_contact
from shared.contract.docs import render_docs
from shared.contract.shop import SignupEvent
from shared.contract.topics import (
    ALL_TOPICS,
    CARTS,
    CONTACTS,
    EVENTS,
    PURCHASES,
    SIGNUPS,
    by_name,
    topic_for_event_type,
)

ENVELOPE = {"event_id", "workspace_id", "contact_id", "occurred_at", "received_at", "schema_version"}


def test_committed_docs_match_the_contract() -> None:
    stale = [str(path) for path, text in render_docs().items() if not path.exists() or path.read_text() != text]
    assert stale == [], f"run `make docs`: stale {stale}"


def test_readme_settings_table_matches_the_settings() -> None:
    text = README.read_text()
    assert updated_readme(text) == text, "run `make docs` to refresh the README settings table"


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda topic: topic.name)
def test_every_record_carries_the_envelope_and_is_keyed_by_contact(topic: object) -> None:
    schema = topic.adapter().json_schema()  # type: ignore[attr-defined]
    variants = (
        [schema["$defs"][ref["$ref"].split("/")[-1]] for ref in schema["oneOf"]] if "oneOf" in schema else [schema]
    )
    for variant in variants:
        assert set(variant["properties"]) >= ENVELOPE, variant.get("title")
    # Contact ids are unique within a workspace only: the compacted profile topic's key names both.
    expected = "workspace_id/contact_id" if topic is CONTACTS else "contact_id"
    assert topic.key == expected  # type: ignore[attr-defined]


def test_a_contacts_key_names_its_workspace_and_a_tombstones_key_says_whose_contact_it_erases() -> None:
    key = contact_key("shop-a", "c/1")
    assert key == "shop-a/c/1" and erased_contact(key) == ("shop-a", "c/1")
    assert erased_contact("c1") is None  # a tombstone from before keys named the workspace
    assert erased_contact(None) is None and erased_contact("/c1") is None


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("signup", SIGNUPS),
        ("purchase", PURCHASES),
        ("cart_abandoned", CARTS),
        ("checkout_started", CARTS),
        ("document_downloaded", EVENTS),
        ("track", EVENTS),
    ],
)
def test_shop_events_are_spread_over_topics_by_type(event_type: str, topic: object) -> None:
    assert topic_for_event_type(event_type) is topic


def test_contact_changes_is_compacted_and_others_expire() -> None:
    assert by_name("contacts.changes").config()["cleanup.policy"] == "compact"
    assert by_name("shop.signups").config()["cleanup.policy"] == "delete"


def test_records_refuse_unknown_fields_and_naive_times() -> None:
    now = datetime.now(UTC)
    base = {
        "type": "signup",
        "event_id": "e1",
        "workspace_id": "w",
        "contact_id": "c",
        "occurred_at": now,
        "received_at": now,
    }
    assert SignupEvent(**base).schema_version == 1
    with pytest.raises(ValidationError, match="extra"):
        SignupEvent(**base, email="kari@example.com")
    with pytest.raises(ValidationError, match="timezone"):
        SignupEvent(**{**base, "occurred_at": datetime(2026, 1, 1)})
