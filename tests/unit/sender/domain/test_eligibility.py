"""Who may be mailed: reachable readers, suppression scopes and marketing consent."""

from __future__ import annotations

import pytest

from services.sender.domain.eligibility import Reader, address_of, blocked, unreachable

SUBSCRIBED = Reader({"email": "kari@example.com"}, {"*": "subscribed", "news": "subscribed"}, None)


def test_an_unknown_contact_or_one_without_the_address_is_unreachable() -> None:
    assert unreachable(None, "email") == "contact unknown or erased"
    assert unreachable(Reader({"email": ""}, {}, None), "email") == "contact has no email"
    assert unreachable(SUBSCRIBED, "phone") == "contact has no phone"
    assert unreachable(SUBSCRIBED, "email") is None
    assert address_of(SUBSCRIBED, "email") == "kari@example.com"


@pytest.mark.parametrize(
    ("scopes", "marketing", "reason"),
    [
        (frozenset(), True, None),
        (frozenset(), False, None),
        (frozenset({"marketing"}), True, "email suppressed for marketing"),
        (frozenset({"marketing"}), False, None),  # an unsubscribe does not stop a receipt
        (frozenset({"all"}), False, "email suppressed"),
        (frozenset({"all", "marketing"}), True, "email suppressed for marketing"),
    ],
)
def test_suppression_scopes(scopes: frozenset[str], marketing: bool, reason: str | None) -> None:
    assert blocked(SUBSCRIBED, "email", marketing=marketing, topic=None, suppression_scopes=scopes) == reason


def test_marketing_needs_consent_to_marketing_and_to_the_topic() -> None:
    pending = Reader({"email": "a@example.com"}, {"*": "pending"}, None)
    assert blocked(pending, "email", marketing=True, topic=None, suppression_scopes=frozenset()) == (
        "no consent to marketing (pending)"
    )
    assert blocked(pending, "email", marketing=False, topic=None, suppression_scopes=frozenset()) is None
    assert blocked(SUBSCRIBED, "email", marketing=True, topic="offers", suppression_scopes=frozenset()) == (
        "no consent to topic offers (none)"
    )
    assert blocked(SUBSCRIBED, "email", marketing=True, topic="news", suppression_scopes=frozenset()) is None


def test_a_text_message_needs_sms_consent_and_email_consent_does_not_do() -> None:
    phone = {"email": "a@example.com", "phone": "+4791234567"}
    email_only = Reader(phone, {"*": "subscribed", "channel:email": "subscribed"}, None)
    assert blocked(email_only, "phone", marketing=True, topic=None, suppression_scopes=frozenset()) == (
        "no consent to SMS marketing"
    )
    assert blocked(email_only, "email", marketing=True, topic=None, suppression_scopes=frozenset()) is None
    assert blocked(email_only, "phone", marketing=False, topic=None, suppression_scopes=frozenset()) is None
    both = Reader(phone, {"*": "subscribed", "channel:sms": "subscribed"}, None)
    assert blocked(both, "phone", marketing=True, topic=None, suppression_scopes=frozenset()) is None
    withdrawn = Reader(phone, {"*": "subscribed", "channel:email": "unsubscribed"}, None)
    assert blocked(withdrawn, "email", marketing=True, topic=None, suppression_scopes=frozenset()) == (
        "contact withdrew email consent"
    )


def test_the_promise_is_the_messages_topic_or_every_topic_signed_up_to_in_the_readers_language() -> None:
    promises = {
        "news": {"en": "One newsletter a month", "nb": "Ett nyhetsbrev i måneden"},
        "offers": {"en": "Offers now and then"},
    }
    reader = Reader({"email": "a@example.com"}, {"*": "pending"}, None, promises)
    assert reader.promise("news", "nb-NO") == "Ett nyhetsbrev i måneden"
    assert reader.promise(None, "en") == "One newsletter a month Offers now and then"
    assert reader.promise("other", "en") is None
    assert Reader({}, {}, None).promise(None, "en") is None
