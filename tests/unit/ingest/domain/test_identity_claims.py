"""What a group of events decides before it writes: contacts, profiles in order, subscriptions left pending."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.ingest.domain.consent import ConsentOutcome, LedgerEntry, subscription_rows
from services.ingest.domain.identity_claims import ContactWanted, assign_contacts
from services.ingest.domain.profile import merge_in_order

EMAIL = ("shop", "email", b"e1")
PHONE = ("shop", "phone", b"p1")
EXTERNAL = ("shop", "external_id", b"x1")
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def new_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"new-{next(counter)}"


def test_a_new_person_gets_a_new_contact_claiming_every_identifier() -> None:
    decided = assign_contacts([ContactWanted(None, [EMAIL, PHONE])], {}, new_ids())
    assert decided.contact_ids == ["new-1"] and decided.fresh == [True]
    assert decided.claims == sorted([(EMAIL, "new-1"), (PHONE, "new-1")])
    assert decided.anchors == [EMAIL]


def test_the_strongest_identifier_on_record_wins_and_new_ones_join_it() -> None:
    on_record = {EMAIL: "kari", PHONE: "someone-else"}
    decided = assign_contacts([ContactWanted(None, [EXTERNAL, EMAIL, PHONE])], on_record, new_ids())
    assert decided.contact_ids == ["kari"] and decided.fresh == [False]
    assert decided.claims == [(EXTERNAL, "kari")]  # the phone stays with whoever has it
    assert decided.anchors == []


def test_later_events_of_a_group_see_what_earlier_ones_claimed() -> None:
    wanted = [ContactWanted(None, [EMAIL]), ContactWanted(None, [EMAIL, PHONE]), ContactWanted("given")]
    decided = assign_contacts(wanted, {}, new_ids())
    assert decided.contact_ids == ["new-1", "new-1", "given"]
    assert decided.fresh == [True, False, False]
    assert decided.claims == sorted([(EMAIL, "new-1"), (PHONE, "new-1")])


def test_profiles_merge_in_arrival_order_and_each_event_sees_its_own_result() -> None:
    current = {"kari": {"first_name": "Kari", "tags": ["vip"]}}
    updates = [("kari", {"tags": ["runner"]}), ("ola", None), ("kari", {"first_name": "K"}), ("ola", {"phone": "+47"})]
    after, latest = merge_in_order(current, updates)
    assert after == [
        {"first_name": "Kari", "tags": ["runner", "vip"]},
        None,
        {"first_name": "K", "tags": ["runner", "vip"]},
        {"phone": "+47"},
    ]
    assert latest == {"kari": after[2], "ola": after[3]}


def _consent(status: str, *topics: str) -> ConsentOutcome:
    entries = [LedgerEntry("grant", topic, "form", NOW) for topic in topics]
    expires = NOW + timedelta(days=7) if status == "pending" else None
    return ConsentOutcome(entries, dict.fromkeys(topics, status), expires, ask_for_confirmation=status == "pending")


def test_one_row_per_subscription_and_a_subscribed_state_is_never_set_back() -> None:
    rows, pending = subscription_rows(
        [
            ("shop", "kari", _consent("pending", "*", "news")),
            ("shop", "kari", _consent("subscribed", "*")),
            ("shop", "kari", _consent("pending", "*")),
            ("shop", "ola", None),
        ]
    )
    by_key = {row.key: (row.status, row.expires_at) for row in rows}
    assert by_key == {
        ("shop", "kari", "*"): ("subscribed", None),
        ("shop", "kari", "news"): ("pending", NOW + timedelta(days=7)),
    }
    assert pending == [{("shop", "kari", "*"), ("shop", "kari", "news")}, set(), set(), set()]
