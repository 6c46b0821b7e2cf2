"""How often a promise text says a topic writes: "one newsletter a month" → 1 email in 30 days, "up to 2 emails
a week" → 2 in 7, "én e-post i måneden" → 1 in 30, in English, Norwegian, Swedish and Danish.

Only simple promises are read (a count, what is sent, per a period; or "weekly", "annenhver uke"); anything
else reads as None, so a caller says the promise could not be read instead of guessing. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Frequency", "read_frequency"]


@dataclass(frozen=True)
class Frequency:
    """At most `messages` marketing emails in `days` days."""

    messages: int
    days: int


_COUNTS = {
    "a": 1, "an": 1, "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "ten": 10,
    "en": 1, "én": 1, "ett": 1, "ei": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7,
    "syv": 7, "ti": 10, "två": 2, "fyra": 4, "sex": 6, "tio": 10,
}  # fmt: skip
_PERIODS = {
    "day": 1, "dag": 1, "dagen": 1, "døgn": 1, "døgnet": 1, "dygn": 1,
    "week": 7, "uke": 7, "uka": 7, "uken": 7, "veke": 7, "vecka": 7, "veckan": 7, "uge": 7, "ugen": 7,
    "fortnight": 14,
    "month": 30, "måned": 30, "måneden": 30, "mnd": 30, "månad": 30, "månaden": 30,
    "quarter": 91, "kvartal": 91, "kvartalet": 91,
    "year": 365, "år": 365, "året": 365,
}  # fmt: skip
_EVERY_PERIOD = {
    "daily": 1, "daglig": 1, "dagligen": 1,
    "weekly": 7, "ukentlig": 7, "ugentlig": 7, "veckovis": 7,
    "monthly": 30, "månedlig": 30, "månatligen": 30, "månatlig": 30,
    "yearly": 365, "annually": 365, "årlig": 365, "årligen": 365,
}  # fmt: skip

_LIMITS = ["up to", "at most", "no more than", "max(?:imum)?", "maks(?:imalt)?", "opptil", "inntil", "høyst", "högst"]
_UP_TO = r"(?:(?:" + "|".join([*_LIMITS, "upp till", "op til", "højst"]) + r")\s+)?"
_COUNT = r"(?P<count>\d{1,3}|" + "|".join(sorted(_COUNTS, key=len, reverse=True)) + ")"
_WORDS = r"(?:[^\W\d_][\w-]*\s+){0,3}?"  # what is sent: "newsletter", "e-post", "short emails"
_PER = r"(?:a|an|per|pr\.?|each|every|i|om|hver|hvert|varje|på)"
_OTHER = r"(?P<other>other\s+|second\s+|annen\s+|andre\s+|anden\s+)?"
_PERIOD = r"(?P<period>" + "|".join(sorted(_PERIODS, key=len, reverse=True)) + r")\b"
_VAGUE = r"(?!\s+(?:few|couple|number|par|fåtal)\b)"  # "a few emails a week" is no count
_COUNTED = re.compile(rf"\b{_UP_TO}{_COUNT}{_VAGUE}\s+{_WORDS}{_PER}\s+{_OTHER}{_PERIOD}", re.IGNORECASE)
_EVERY_OTHER = re.compile(rf"\b(?:every other|annenhver|annahver|varannan|hver anden)\s+{_PERIOD}", re.IGNORECASE)
_ADVERB = re.compile(r"\b(?P<adverb>" + "|".join(_EVERY_PERIOD) + r")\b", re.IGNORECASE)


def read_frequency(text: str) -> Frequency | None:
    """The first count per period the text states, or None when it states none this reads."""
    counted = _COUNTED.search(text)
    if counted:
        count = counted["count"].lower()
        days = _PERIODS[counted["period"].lower()] * (2 if counted["other"] else 1)
        return Frequency(int(count) if count.isdigit() else _COUNTS[count], days)
    every_other = _EVERY_OTHER.search(text)
    if every_other:
        return Frequency(1, 2 * _PERIODS[every_other["period"].lower()])
    adverb = _ADVERB.search(text)
    if adverb:
        return Frequency(1, _EVERY_PERIOD[adverb["adverb"].lower()])
    return None
