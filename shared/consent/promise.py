"""The promise of how often: what a topic tells people at sign-up ("one newsletter a month, plus order
updates"), per language, and how many marketing emails in how many days that means.

Shown in the confirmation email, the footer and the preferences page; compared with the workspace's
frequency caps, which apply to all marketing email, so a workspace sees when its caps would let flows
write more often than a topic promises. Pure: texts and caps come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from shared.consent.promise_text import Frequency, read_frequency
from shared.contract.fields import LINE_PATTERN
from shared.languages import choose_locale

LanguageTag = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$", max_length=35)]
PromiseText = Annotated[str, Field(min_length=1, max_length=500, pattern=LINE_PATTERN)]


class TopicPromise(BaseModel):
    """How often a topic writes: a text per language and the count it stands for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: dict[LanguageTag, PromiseText] = Field(
        min_length=1,
        max_length=50,
        description="The promise by language tag (en, nb, sv, da, id, …), as people read it: "
        "'One newsletter a month, plus order updates'.",
    )
    messages: int | None = Field(
        default=None, ge=1, le=10_000, description="At most this many marketing emails… (default: read from the text)"
    )
    days: int | None = Field(default=None, ge=1, le=366, description="…in this many days (give both or neither).")

    @model_validator(mode="after")
    def _both_or_neither(self) -> TopicPromise:
        if (self.messages is None) != (self.days is None):
            raise ValueError("give both messages and days, or neither to have them read from the text")
        return self

    def frequency(self) -> Frequency | None:
        """The count the promise stands for: `messages` in `days` when given, else what its text says
        ("one newsletter a month": 1 in 30), English first; None when no text says it in a way this reads."""
        if self.messages is not None and self.days is not None:
            return Frequency(self.messages, self.days)
        ordered = sorted(self.text.items(), key=lambda item: item[0].lower().split("-")[0] != "en")
        return next((found for _, text in ordered if (found := read_frequency(text)) is not None), None)


@dataclass(frozen=True)
class Cap:
    """A frequency cap on marketing email: at most `max_messages` per rolling `window`."""

    max_messages: int
    window: timedelta


# A workspace that never set its policy runs the scheduler's default (services/scheduler/adapters/policy.py).
DEFAULT_EMAIL_CAPS = (Cap(3, timedelta(days=1)),)
_WINDOW: TypeAdapter[timedelta] = TypeAdapter(timedelta)


def email_caps(flow_policy: Mapping[str, Any] | None) -> tuple[Cap, ...]:
    """The rolling caps on marketing email of a stored `flow_policy` (None: the default policy's)."""
    if flow_policy is None:
        return DEFAULT_EMAIL_CAPS
    return tuple(
        Cap(int(cap["max_messages"]), _WINDOW.validate_python(cap["window"]))
        for cap in flow_policy.get("caps") or ()
        if cap.get("channel", "email") == "email" and not cap.get("since_signup")
    )


def promise_in(texts: Mapping[str, str], locale: str | None, default: str = "en") -> str | None:
    """The promise in the reader's language (`nb-NO` → `nb` → `no`), else `default`'s, else any."""
    if not texts:
        return None
    chosen = choose_locale(locale, texts, default)
    return texts[chosen] if chosen is not None else next(iter(texts.values()))


def promises_of(promises: Mapping[str, Mapping[str, str]], topics: Iterable[str], locale: str | None) -> list[str]:
    """The promises of these topics in the reader's language, in topic order, each once."""
    found = [promise_in(promises[topic], locale) for topic in sorted(set(topics)) if topic in promises]
    return list(dict.fromkeys(text for text in found if text))


def caps_exceed(promise: TopicPromise, caps: Sequence[Cap]) -> str | None:
    """Why the caps would let flows write more often than the promise says, or None when they keep it.

    The tightest cap counts; without one on email nothing limits flows at all. A promise whose count is neither
    given nor read from its text cannot be checked, and the answer says so."""
    said = promise.frequency()
    if said is None:
        text = promise_in(promise.text, "en")
        return (
            f"the promise {text!r} does not say how many emails in how many days in a way Dripline reads "
            "(such as 'one newsletter a month' or 'up to 2 emails a week'): give messages and days to have it "
            "checked against the frequency caps"
        )
    if not caps:
        return f"no frequency cap on marketing email: flows may send more than {_said(said)}"
    allowed = min(_in_days(cap, said.days) for cap in caps)
    if allowed <= said.messages:
        return None
    return (
        f"the frequency caps allow {allowed} marketing emails in {said.days} days, more than the {_said(said)} promised"
    )


def _in_days(cap: Cap, days: int) -> int:
    """How many messages the cap lets through in `days` days at most."""
    period = timedelta(days=days)
    windows = -(-period // cap.window)  # whole windows started within the period
    return cap.max_messages * max(windows, 1)


def _said(said: Frequency) -> str:
    return f"{said.messages} in {said.days} days"
