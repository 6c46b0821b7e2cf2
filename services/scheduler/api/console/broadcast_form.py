"""The new-broadcast form read into a `Broadcast`, with an error per field a person can act on.

Pure: the posted fields in, the broadcast (or the errors, by the form's field names) out. The checks are
the `Broadcast` model's, the same as `POST /v1/broadcasts`: the form only says which of its fields a
model error is about. Beyond the API, the form also refuses a segment the workspace does not have, since
it offers only those.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from services.scheduler.domain.broadcasts import (
    ID_PATTERN,
    Broadcast,
    Schedule,
    SendAt,
    SendAtBestTime,
    SendAtLocalTime,
)
from services.scheduler.domain.steps import Category

WHEN = {"draft": "keep as a draft", "now": "now", "at": "at a time (UTC)", "local_time": "at each contact's local time",
        "best_time": "at each contact's best hour in a window"}  # fmt: skip
AUDIENCES = {"marketing": "everyone subscribed to marketing", "segment": "a segment", "topic": "a topic's subscribers"}
CATEGORIES = get_args(Category)
METRICS = {"opens": "opens by people (not privacy proxies)", "clicks": "clicks",
           "revenue": "purchases credited to the message (with their revenue)"}  # fmt: skip
SCHEDULE_FIELDS = ("when", "date", "time", "end")
FIELDS = ("id", "name", "templates", "audience", "segment", "topic", "exclude_segments", "category", "consent_topic",
          *SCHEDULE_FIELDS, "per_hour", "per_domain_per_hour", "test", "sample_percent", "wait", "metric")  # fmt: skip
Form = Mapping[str, str]
_ID = re.compile(ID_PATTERN)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")
_WHOLE = re.compile(r"^[+-]?\d+$")
_SCHEDULE: TypeAdapter[Schedule] = TypeAdapter(Schedule)


def _schedule(form: Form, errors: dict[str, str]) -> dict[str, Any] | None:
    when, day, at, end = (form.get(name, "").strip() for name in SCHEDULE_FIELDS)
    if when not in WHEN:
        errors["when"] = f"choose one of {', '.join(WHEN)}"
        return None
    needed = {"at": ("date", "time"), "local_time": ("date", "time"), "best_time": ("date", "time", "end")}
    typed = {"date": (day, _DATE, "2026-12-24"), "time": (at, _TIME, "09:00"), "end": (end, _TIME, "17:00")}
    for field in needed.get(when, ()):
        value, pattern, example = typed[field]
        if not value:
            errors[field] = f"say the {'end of the window' if field == 'end' else field} to send {WHEN[when]}"
        elif not pattern.match(value):
            errors[field] = f"'{value}' is not a {'time' if field == 'end' else field}; write it like {example}"
    match when:
        case "now":
            return {"kind": "now"}
        case "at":
            return {"kind": "at", "at": f"{day}T{at}:00+00:00"}
        case "local_time":
            return {"kind": "local_time", "date": day, "time": at}
        case "best_time":
            return {"kind": "best_time", "date": day, "start": at, "end": end}
    return None


def schedule_fields(schedule: Schedule | None) -> dict[str, str]:
    """A stored schedule as the form's fields (now, when there is none), to offer it again."""
    match schedule:
        case SendAt(at=at):
            return {"when": "at", "date": f"{at:%Y-%m-%d}", "time": f"{at:%H:%M}"}
        case SendAtBestTime(date=day, start=start, end=end):
            return {"when": "best_time", "date": day.isoformat(), "time": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
        case SendAtLocalTime(date=day, time=clock):
            return {"when": "local_time", "date": day.isoformat(), "time": f"{clock:%H:%M}"}
    return {"when": "now"}


def _audience(form: Form, errors: dict[str, str], segments: Collection[str] | None) -> dict[str, Any]:
    kind = form.get("audience", "")
    if kind not in AUDIENCES:
        errors["audience"] = f"choose one of {', '.join(AUDIENCES)}"
    if kind in ("segment", "topic") and not form.get(kind):
        errors[kind] = f"choose the {kind} to send to"
    elif kind == "segment" and segments is not None and form["segment"] not in segments:
        errors["segment"] = f"this workspace has no segment '{form['segment']}'"
    return {"kind": kind, kind: form.get(kind, "")} if kind in ("segment", "topic") else {"kind": kind}


def _listed(form: Form, field: str) -> list[str]:
    return [name.strip() for name in form.get(field, "").split(",") if name.strip()]


def _whole(form: Form, field: str, what: str, errors: dict[str, str]) -> int | None:
    """A whole number as typed (its range is the model's to judge), None when empty or not a number."""
    typed = form.get(field, "").strip()
    if typed and not _WHOLE.match(typed):
        errors[field] = f"'{typed}' is not a whole number {what}"
    return int(typed) if _WHOLE.match(typed) else None


def _test(form: Form, errors: dict[str, str]) -> dict[str, Any] | None:
    if not form.get("test"):
        return None
    percent = _whole(form, "sample_percent", "(a percent of the audience, 2 to 90)", errors)
    if percent is None:
        errors.setdefault("sample_percent", "say on what percent of the audience the templates are tried (2 to 90)")
    return {"sample_percent": percent, "wait": form.get("wait", "").strip(), "metric": form.get("metric", "opens")}


def _field_of(location: tuple[int | str, ...], message: str) -> str:
    """The form field a model error's location (and, for a whole-broadcast error, its message) is about."""
    head, parts = (str(location[0]) if location else "form"), {str(part) for part in location[1:]}
    match head:
        case "audience":
            return next((str(part) for part in location[1:] if part in ("segment", "topic")), "audience")
        case "schedule":
            named = [field for field in ("date", "end", "time") if field in parts]
            return (
                named[0] if named else "time" if parts & {"at", "start"} else "end" if "best_time" in parts else "when"
            )
        case "test":
            return next((str(part) for part in location[1:] if part in ("sample_percent", "wait", "metric")), "test")
        case "topic":
            return "consent_topic"
        case "form":
            return "templates" if "test:" in message else "form"
    return head if head in FIELDS else "form"


def _errors_of(error: ValidationError, errors: dict[str, str], prefix: tuple[str, ...] = ()) -> None:
    for problem in error.errors():
        location = prefix + tuple(problem["loc"])
        errors.setdefault(
            _field_of(location, problem["msg"]),
            f"{problem['msg'].removeprefix('Value error, ')} ({'.'.join(map(str, location))})",
        )


def broadcast_from_form(form: Form, segments: Collection[str] | None = None) -> tuple[Broadcast | None, dict[str, str]]:
    """`segments`: the workspace's segment ids, when a segment the form names must be one of them."""
    errors: dict[str, str] = {}
    templates, excluded = _listed(form, "templates"), _listed(form, "exclude_segments")
    spec: dict[str, Any] = {
        "id": form.get("id", "").strip(),
        "name": form.get("name", "").strip(),
        "templates": templates,
        "audience": _audience(form, errors, segments),
        "exclude_segments": excluded,
        "category": form.get("category") or "marketing",
        "topic": form.get("consent_topic", "").strip() or None,
        "per_hour": _whole(form, "per_hour", "of messages an hour", errors),
        "per_domain_per_hour": _whole(form, "per_domain_per_hour", "of messages an hour to one domain", errors),
        "schedule": _schedule(form, errors),
        "test": _test(form, errors),
    }
    if not _ID.match(spec["id"]):
        errors["id"] = f"'{spec['id']}' is not an id: a-z, 0-9, - and _, at most 64, starting with a letter or digit"
    if spec["id"] == "new":
        errors["id"] = "'new' is the address of this form: choose another id"
    if not templates:
        errors["templates"] = "name the template to send (several, comma-separated, for an A/B split)"
    unknown = [name for name in excluded if segments is not None and name not in segments]
    if unknown:
        errors["exclude_segments"] = f"this workspace has no segment {', '.join(map(repr, unknown))}"
    try:
        found = Broadcast.model_validate(spec)
    except ValidationError as error:
        _errors_of(error, errors)
        return None, errors
    return (None, errors) if errors else (found, {})


def schedule_from_form(form: Form) -> tuple[Schedule | None, dict[str, str]]:
    """The schedule a draft is given on its Schedule page: the checks of `POST /v1/broadcasts/{id}/schedule`."""
    errors: dict[str, str] = {}
    if form.get("when") == "draft":
        return None, {"when": "choose when to send"}
    spec = _schedule(form, errors)
    if spec is None:
        return None, errors
    try:
        found = _SCHEDULE.validate_python(spec)
    except ValidationError as error:
        _errors_of(error, errors, ("schedule",))
        return None, errors
    return (None, errors) if errors else (found, {})
