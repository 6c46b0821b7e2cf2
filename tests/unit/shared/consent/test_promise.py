"""The promise of how often: its text in the reader's language, and caps that would break it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from shared.consent.promise import Cap, TopicPromise, caps_exceed, email_caps, promise_in, promises_of

TEXTS = {"en": "One newsletter a month", "nb": "Ett nyhetsbrev i måneden", "sv": "Ett nyhetsbrev i månaden"}
MONTHLY = TopicPromise(text=TEXTS, messages=1, days=30)


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("nb-NO", "Ett nyhetsbrev i måneden"),
        ("no", "Ett nyhetsbrev i måneden"),
        ("sv_SE", "Ett nyhetsbrev i månaden"),
        ("de", "One newsletter a month"),
        (None, "One newsletter a month"),
    ],
)
def test_the_promise_is_read_in_the_readers_language_else_english(locale: str | None, text: str) -> None:
    assert promise_in(TEXTS, locale) == text


def test_without_english_any_language_answers_and_without_texts_none() -> None:
    assert promise_in({"da": "Et nyhedsbrev om måneden"}, "fr") == "Et nyhedsbrev om måneden"
    assert promise_in({}, "nb") is None


def test_the_promises_of_several_topics_are_listed_once_each() -> None:
    promises = {"news": TEXTS, "offers": {"en": "Offers now and then"}, "same": TEXTS}
    assert promises_of(promises, ["offers", "news", "unknown"], "en") == [
        "One newsletter a month",
        "Offers now and then",
    ]
    assert promises_of(promises, ["news", "same"], "nb") == ["Ett nyhetsbrev i måneden"]


def test_caps_that_allow_more_than_the_promise_are_named() -> None:
    three_a_day = Cap(3, timedelta(days=1))
    assert caps_exceed(MONTHLY, [three_a_day]) == (
        "the frequency caps allow 90 marketing emails in 30 days, more than the 1 in 30 days promised"
    )
    assert caps_exceed(MONTHLY, []) == "no frequency cap on marketing email: flows may send more than 1 in 30 days"


def test_caps_that_keep_the_promise_say_nothing() -> None:
    assert caps_exceed(MONTHLY, [Cap(1, timedelta(days=30))]) is None
    assert caps_exceed(TopicPromise(text=TEXTS, messages=10, days=30), [Cap(2, timedelta(days=7))]) is None
    assert caps_exceed(MONTHLY, [Cap(3, timedelta(days=1)), Cap(1, timedelta(days=60))]) is None  # the tightest


def test_a_promise_needs_a_text_and_a_known_shape_of_language_tag() -> None:
    with pytest.raises(ValidationError):
        TopicPromise(text={}, messages=1, days=30)
    with pytest.raises(ValidationError):
        TopicPromise(text={"not a tag": "x"}, messages=1, days=30)


def test_the_caps_on_marketing_email_are_read_from_a_stored_policy_or_the_default() -> None:
    stored = {
        "caps": [
            {"channel": "email", "max_messages": 2, "window": "P7D"},
            {"channel": "sms", "max_messages": 1, "window": "P1D"},
            {"channel": "email", "max_messages": 1, "window": "P3D", "since_signup": True},
        ]
    }
    assert email_caps(stored) == (Cap(2, timedelta(days=7)),)
    assert email_caps(None) == (Cap(3, timedelta(days=1)),)
    assert email_caps({"caps": []}) == ()
