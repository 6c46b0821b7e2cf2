"""The policy page's form read into a workspace policy, with an error per field a person can act on.

Pure: the posted fields and the policy in force in, the new policy (or the errors, by field name) out.
A cap row left blank is no cap; quiet hours need both ends or neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import time, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from services.scheduler.domain import FrequencyCap, QuietHours, WorkspacePolicy
from services.scheduler.domain.durations import format_duration, parse_duration, parse_time_of_day
from services.scheduler.domain.steps import Channel

CHANNELS: tuple[str, ...] = get_args(Channel)
_CAP = re.compile(r"^cap-(\d+)-(channel|max|window|since)$")
Form = Mapping[str, Sequence[str]]


def _one(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _duration(text: str, field: str, errors: dict[str, str], *, positive: bool) -> timedelta | None:
    try:
        value = parse_duration(text)
    except ValueError as error:
        errors[field] = str(error)
        return None
    if value < timedelta(0) or (positive and value == timedelta(0)):
        errors[field] = f"'{text}' must be {'longer than nothing' if positive else 'zero or more'}"
        return None
    return value


def _time(text: str, field: str, errors: dict[str, str]) -> time | None:
    try:
        return parse_time_of_day(text)
    except ValueError as error:
        errors[field] = str(error)
        return None


def _quiet_hours(form: Form, errors: dict[str, str]) -> QuietHours | None:
    start, end = _one(form, "quiet_start"), _one(form, "quiet_end")
    if not start and not end:
        return None
    for field, text in (("quiet_start", start), ("quiet_end", end)):
        if not text:
            errors[field] = "quiet hours need a start and an end (or neither, for none)"
    channels = tuple(c for c in form.get("quiet_channels", []) if c in CHANNELS)
    if not channels:
        errors["quiet_channels"] = "choose the channels quiet hours hold back"
    begins, ends = (
        _time(start, "quiet_start", errors) if start else None,
        _time(end, "quiet_end", errors) if end else None,
    )
    if begins is None or ends is None or not channels:
        return None
    if begins == ends:
        errors["quiet_end"] = "quiet hours must end at another time than they start"
        return None
    return QuietHours(start=begins, end=ends, channels=channels)  # type: ignore[arg-type]


def _caps(form: Form, errors: dict[str, str]) -> list[FrequencyCap]:
    rows = sorted({int(match.group(1)) for name in form if (match := _CAP.match(name))})
    caps = []
    for row in rows:
        channel, most, window = (_one(form, f"cap-{row}-{part}") for part in ("channel", "max", "window"))
        if not most and not window:
            continue  # a blank row: no cap
        field = f"cap-{row}"
        if channel not in CHANNELS:
            errors[f"{field}-channel"] = f"choose one of {', '.join(CHANNELS)}"
        if not most.isdigit() or int(most) < 1:
            errors[f"{field}-max"] = f"'{most}' is not a whole number of messages, 1 or more"
        length = _duration(window, f"{field}-window", errors, positive=True)
        if f"{field}-channel" in errors or f"{field}-max" in errors or length is None:
            continue
        since = bool(_one(form, f"{field}-since"))
        caps.append(FrequencyCap(channel=channel, max_messages=int(most), window=length, since_signup=since))  # type: ignore[arg-type]
    return caps


def policy_from_form(form: Form, current: WorkspacePolicy) -> tuple[WorkspacePolicy | None, dict[str, str]]:
    """The policy the form describes (what it does not show, like audience hours, kept), or the errors."""
    errors: dict[str, str] = {}
    time_zone = _one(form, "time_zone") or "UTC"
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = f"'{time_zone}' is not a time zone; write it like Europe/Oslo or UTC"
    grace = _duration(_one(form, "grace") or "0s", "grace", errors, positive=False)
    quiet = _quiet_hours(form, errors)
    caps = _caps(form, errors)
    if errors:
        return None, errors
    try:
        policy = WorkspacePolicy(
            time_zone=time_zone,
            caps=tuple(caps),
            quiet_hours=quiet,
            grace_after_signup=grace or timedelta(0),
            audience_hours=current.audience_hours,
        )
    except ValidationError as error:
        return None, {"policy": "; ".join(str(e["msg"]) for e in error.errors())}
    return policy, {}


def changes(before: WorkspacePolicy, after: WorkspacePolicy) -> dict[str, str]:
    """What the audit entry says changed, in the form's words."""
    said = {name: describe(policy) for name, policy in (("before", before), ("after", after))}
    return {key: value for key, value in said["after"].items() if said["before"].get(key) != value}


def describe(policy: WorkspacePolicy) -> dict[str, str]:
    quiet = policy.quiet_hours
    return {
        "time_zone": policy.time_zone,
        "grace": format_duration(policy.grace_after_signup),
        "quiet_hours": f"{quiet.start:%H:%M}-{quiet.end:%H:%M} {','.join(quiet.channels)}" if quiet else "none",
        "caps": "; ".join(cap_text(cap) for cap in policy.caps) or "none",
    }


def cap_text(cap: FrequencyCap) -> str:
    scope = "in the first" if cap.since_signup else "per"
    return f"{cap.max_messages} {cap.channel} {scope} {format_duration(cap.window)}"


def form_values(policy: WorkspacePolicy, blank_rows: int = 1) -> dict[str, Any]:
    """What the form shows for a policy: its fields filled in, and a blank cap row to add one."""
    quiet = policy.quiet_hours
    caps = [
        {"channel": cap.channel, "max": str(cap.max_messages), "window": format_duration(cap.window),
         "since": cap.since_signup}
        for cap in policy.caps
    ] + [{"channel": "email", "max": "", "window": "", "since": False}] * blank_rows  # fmt: skip
    return {
        "time_zone": policy.time_zone,
        "grace": format_duration(policy.grace_after_signup),
        "quiet_start": f"{quiet.start:%H:%M}" if quiet else "",
        "quiet_end": f"{quiet.end:%H:%M}" if quiet else "",
        "quiet_channels": list(quiet.channels) if quiet else ["email", "sms"],
        "caps": caps,
    }


def posted_values(form: Form) -> dict[str, Any]:
    """What the form shows again after a refusal: what the person typed, so they fix only the wrong field."""
    rows = sorted({int(match.group(1)) for name in form if (match := _CAP.match(name))})
    caps = [
        {"channel": _one(form, f"cap-{row}-channel"), "max": _one(form, f"cap-{row}-max"),
         "window": _one(form, f"cap-{row}-window"), "since": bool(_one(form, f"cap-{row}-since"))}
        for row in rows
    ]  # fmt: skip
    return {
        "time_zone": _one(form, "time_zone"),
        "grace": _one(form, "grace"),
        "quiet_start": _one(form, "quiet_start"),
        "quiet_end": _one(form, "quiet_end"),
        "quiet_channels": list(form.get("quiet_channels", [])),
        "caps": caps,
    }
