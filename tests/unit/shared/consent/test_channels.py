"""Consent per channel: which scopes a consent grants, and what each channel's status is."""

from __future__ import annotations

from shared.consent.channels import (
    channel_refusal,
    channel_scope,
    channel_status,
    channels_by_status,
    consent_scopes,
    granted_channels,
    scope_channel,
)


def test_a_plain_marketing_consent_grants_email_only() -> None:
    assert granted_channels(True, []) == ("email",)
    assert consent_scopes(True, [], ["offers", "news", "offers"]) == ["*", "channel:email", "news", "offers"]


def test_named_channels_are_granted_as_named_and_nothing_else() -> None:
    assert granted_channels(False, ["sms", "post"]) == ("sms", "post")
    assert consent_scopes(True, ["sms"], []) == ["*", "channel:sms"]


def test_no_marketing_and_no_channel_grants_nothing() -> None:
    assert consent_scopes(False, [], ["offers"]) == []


def test_scopes_name_channels_and_nothing_else_is_a_channel() -> None:
    assert channel_scope("web") == "channel:web"
    assert scope_channel("channel:sms") == "sms"
    assert scope_channel("channel:fax") is None
    assert scope_channel("*") is None and scope_channel("offers") is None


def test_email_falls_back_on_all_marketing_when_no_email_row_exists() -> None:
    assert channel_status({"*": "subscribed"}, "email") == "subscribed"
    assert channel_status({"*": "subscribed", "channel:email": "unsubscribed"}, "email") == "unsubscribed"
    assert channel_status({"*": "subscribed"}, "sms") is None


def test_each_channel_states_its_own_refusal() -> None:
    email_only = {"*": "subscribed", "channel:email": "subscribed"}
    assert channel_refusal(email_only, "email") is None
    assert channel_refusal(email_only, "sms") == "no consent to SMS marketing"
    assert channel_refusal({"channel:post": "unsubscribed"}, "post") == "contact withdrew post consent"
    assert channel_refusal({"channel:sms": "pending"}, "sms") == "SMS consent awaiting confirmation"
    assert channel_refusal({"channel:web": "expired"}, "web") == "confirmation of web tracking consent expired"


def test_channels_by_status_lists_only_the_channels_asked() -> None:
    assert channels_by_status({"*": "subscribed", "channel:sms": "pending", "offers": "subscribed"}) == {
        "email": "subscribed",
        "sms": "pending",
    }
