"""A broadcast: one message sent once to an audience (a newsletter, a seasonal campaign), and its lifecycle.

What it says is typed data, validated at the edge: the content (a template, or an A/B set of templates
split evenly and by contact), the audience (a segment, a topic's subscribers or everyone subscribed to
marketing, minus excluded segments), the schedule (now, at an instant, at a local time in each
contact's zone, or at each contact's best hour within a local window), the consent category and topic,
and a throttle. The lifecycle is a pure function of (state, command).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .durations import Duration, TimeOfDay
from .local_time import as_utc, localize, zone
from .steps import Category, Channel

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# The earliest wall clock on Earth runs 14 hours ahead of UTC (Pacific/Kiritimati): a local-time
# broadcast starts resolving when its time comes there, so no contact's moment is already past.
EARLIEST_ZONE = zone("Pacific/Kiritimati")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SegmentAudience(_Model):
    kind: Literal["segment"] = "segment"
    segment: str = Field(pattern=ID_PATTERN, description="Contacts in this segment when the send starts.")


class TopicAudience(_Model):
    kind: Literal["topic"] = "topic"
    topic: str = Field(min_length=1, max_length=64, description="Contacts subscribed to this topic.")


class MarketingAudience(_Model):
    kind: Literal["marketing"] = "marketing"


Audience = Annotated[SegmentAudience | TopicAudience | MarketingAudience, Field(discriminator="kind")]


class SendNow(_Model):
    kind: Literal["now"] = "now"


class SendAt(_Model):
    kind: Literal["at"] = "at"
    at: AwareDatetime


class SendAtLocalTime(_Model):
    """`time` on `date` on each contact's wall clock (the workspace's zone when theirs is unknown)."""

    kind: Literal["local_time"] = "local_time"
    date: date
    time: TimeOfDay


class SendAtBestTime(_Model):
    """Each contact's best hour (their past opens and clicks) between `start` and `end` on `date`, locally."""

    kind: Literal["best_time"] = "best_time"
    date: date
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> SendAtBestTime:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


Schedule = Annotated[SendNow | SendAt | SendAtLocalTime | SendAtBestTime, Field(discriminator="kind")]


class SplitTest(_Model):
    """Test then send: the variants go to a sample, the winner to the rest once `wait` has passed."""

    sample_percent: int = Field(ge=2, le=90, description="Share of the audience the variants are tried on.")
    wait: Duration = Field(description="From the end of resolution to picking the winner, e.g. 4h.")
    metric: Literal["opens", "clicks", "revenue"] = Field(
        default="opens",
        description="Opens by people (not proxies), clicks, or revenue: recipients with a purchase credited to "
        "their message (the conversion rate is tested; the evidence shows each variant's revenue).",
    )


class Broadcast(_Model):
    """What a marketer creates: content, audience, consent scope and pace. The schedule comes with it or later."""

    id: str = Field(pattern=ID_PATTERN, description="e.g. newsletter-2026-12")
    name: str = Field(min_length=1, max_length=200)
    templates: tuple[Annotated[str, Field(min_length=1, max_length=128)], ...] = Field(
        min_length=1, max_length=8, description="One template, or an A/B set split evenly by contact."
    )
    audience: Audience
    exclude_segments: tuple[Annotated[str, Field(pattern=ID_PATTERN)], ...] = Field(
        default=(), max_length=20, description="Members of these segments are left out."
    )
    channel: Channel = "email"
    category: Category = "marketing"
    topic: str | None = Field(default=None, max_length=64, description="Subscription topic consent is judged on.")
    per_hour: int | None = Field(default=None, ge=1, le=10_000_000, description="Throttle: messages per hour.")
    per_domain_per_hour: int | None = Field(
        default=None, ge=1, le=10_000_000,
        description="Throttle per receiving domain: messages an hour to any one domain (gmail.com, outlook.com, "
        "a company's own), spread over the hour. Email only.",
    )  # fmt: skip
    schedule: Schedule | None = None
    test: SplitTest | None = Field(default=None, description="Test the templates on a sample, then send the winner.")

    @model_validator(mode="after")
    def _no_webhook(self) -> Broadcast:
        if self.channel == "webhook":
            raise ValueError("channel: a broadcast goes to contacts by email or sms")
        if self.per_domain_per_hour is not None and self.channel != "email":
            raise ValueError("per_domain_per_hour: only email goes to receiving domains")
        if self.test is not None and len(self.templates) < 2:
            raise ValueError("test: a test needs two templates or more")
        return self


def unknown_segments(broadcast: Broadcast, known: Collection[str]) -> list[tuple[tuple[str | int, ...], str]]:
    """Where the broadcast names a segment the workspace does not have, as (field path, problem): an
    audience of a segment nobody defined would freeze empty and "send" to no one without a word."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(broadcast.audience, SegmentAudience) and broadcast.audience.segment not in known:
        problems.append((("audience", "segment"), f"this workspace has no segment '{broadcast.audience.segment}'"))
    for index, segment in enumerate(broadcast.exclude_segments):
        if segment not in known:
            problems.append((("exclude_segments", index), f"this workspace has no segment '{segment}'"))
    return problems


State = Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled"]
Command = Literal["schedule", "start", "pause", "resume", "cancel", "finish"]
LIVE: frozenset[State] = frozenset({"scheduled", "sending", "paused"})


class RefusedChange(ValueError):
    """A command the broadcast's state does not allow (the API answers 409)."""


def next_state(state: State, command: Command, *, resolved: bool) -> State:
    """The state after `command`; `resolved` says whether the audience was frozen (a paused send resumes
    sending, a paused schedule resumes waiting)."""
    match command, state:
        case "schedule", "draft" | "scheduled":
            return "scheduled"
        case "start", "scheduled":
            return "sending"
        case "pause", "scheduled" | "sending":
            return "paused"
        case "resume", "paused":
            return "sending" if resolved else "scheduled"
        case "cancel", "draft" | "scheduled" | "sending" | "paused":
            return "cancelled"
        case "finish", "sending":
            return "sent"
    raise RefusedChange(f"a {state} broadcast cannot {command}")


def starts_at(schedule: Schedule, now: datetime) -> datetime:
    """When resolution begins: at once, at the instant, or when the local time first comes anywhere."""
    match schedule:
        case SendNow():
            return as_utc(now)
        case SendAt(at=at):
            return as_utc(at)
        case SendAtLocalTime(date=day, time=clock):
            return localize(day, clock, EARLIEST_ZONE)
        case SendAtBestTime(date=day, start=clock):
            return localize(day, clock, EARLIEST_ZONE)


def local_window(schedule: SendAtLocalTime | SendAtBestTime) -> tuple[date, timedelta, timedelta]:
    """(date, offset of the start, offset of the end) of a local schedule, for set-based resolution in SQL."""
    if isinstance(schedule, SendAtLocalTime):
        start = timedelta(hours=schedule.time.hour, minutes=schedule.time.minute)
        return schedule.date, start, start
    begin = timedelta(hours=schedule.start.hour, minutes=schedule.start.minute)
    return schedule.date, begin, timedelta(hours=schedule.end.hour, minutes=schedule.end.minute)
