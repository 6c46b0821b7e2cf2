"""Reading how often a promise text says a topic writes, in the languages the shops write in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.consent.promise import Cap, TopicPromise, caps_exceed
from shared.consent.promise_text import Frequency, read_frequency


@pytest.mark.parametrize(
    ("text", "messages", "days"),
    [
        ("One newsletter a month, plus order updates", 1, 30),
        ("Up to 2 emails a week", 2, 7),
        ("up to three emails a week", 3, 7),
        ("3 short emails per week", 3, 7),
        ("twice a month", 2, 30),
        ("A weekly digest", 1, 7),
        ("one email every other week", 1, 14),
        ("Én e-post i måneden", 1, 30),
        ("Ett nyhetsbrev i uka", 1, 7),
        ("opptil tre e-poster i uken", 3, 7),
        ("to ganger i måneden", 2, 30),
        ("Annenhver uke", 1, 14),
        ("Ett nyhetsbrev i månaden", 1, 30),
        ("Högst två mejl i veckan", 2, 7),
        ("Et nyhedsbrev om måneden", 1, 30),
    ],
)
def test_a_simple_promise_reads_as_a_count_in_days(text: str, messages: int, days: int) -> None:
    assert read_frequency(text) == Frequency(messages, days)


@pytest.mark.parametrize(
    "text", ["Offers now and then", "A few emails a week", "Et par e-poster i uka", "Kabar terbaru setiap bulan"]
)
def test_a_vague_promise_reads_as_nothing_rather_than_a_guess(text: str) -> None:
    assert read_frequency(text) is None


def test_a_promise_without_a_count_is_checked_by_its_text_english_first() -> None:
    promise = TopicPromise(text={"nb": "Én e-post i uka", "en": "One newsletter a month"})
    assert promise.frequency() == Frequency(1, 30)
    assert caps_exceed(promise, [Cap(2, timedelta(days=7))]) == (
        "the frequency caps allow 10 marketing emails in 30 days, more than the 1 in 30 days promised"
    )
    norwegian_only = TopicPromise(text={"nb": "Opptil to e-poster i uka"})
    assert caps_exceed(norwegian_only, [Cap(2, timedelta(days=7))]) is None


def test_a_given_count_wins_over_the_text() -> None:
    promise = TopicPromise(text={"en": "Now and then"}, messages=4, days=30)
    assert promise.frequency() == Frequency(4, 30)


def test_a_promise_that_cannot_be_read_is_named_in_the_warning_instead_of_guessed() -> None:
    vague = TopicPromise(text={"en": "Offers now and then", "nb": "Tilbud av og til"})
    warning = caps_exceed(vague, [Cap(3, timedelta(days=1))])
    assert warning is not None and "'Offers now and then' does not say how many emails" in warning
    assert "give messages and days" in warning


def test_messages_and_days_come_together_or_not_at_all() -> None:
    with pytest.raises(ValueError, match="both messages and days"):
        TopicPromise(text={"en": "One a month"}, messages=1)
