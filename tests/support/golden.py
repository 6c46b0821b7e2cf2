"""Golden emails: example flows with their waits shortened, and what they delivered as readable snapshots.

A snapshot is the text a person reads (subject and plain-text part of every email, every SMS, the data
of every webhook), with what changes from run to run (signed tokens, ports, today's date, ids) replaced by
placeholders. `DRIPLINE_UPDATE_GOLDEN=1` rewrites the committed files instead of comparing.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from dripline.devstack.inbox import ReceivedMail, ReceivedSms
from services.scheduler.domain.coupons import ALPHABET, RANDOM_LENGTH
from services.sender.domain.rendering.filters import format_day, locale_of

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "examples" / "flows"
TEMPLATES = ROOT / "examples" / "templates"
GOLDEN = ROOT / "tests" / "e2e" / "golden"
UPDATE = os.environ.get("DRIPLINE_UPDATE_GOLDEN") == "1"

# Waits as a test can afford them: a step's pause, and how long a wait_for leaves for the test to act.
PAUSE = "2s"
ACT_WITHIN = "7s"


def quick_copy(flow_id: str, hook_url: str) -> str:
    """The example flow with every wait shortened, date and segment triggers turned into API triggers (the
    test enrolls), notify steps pointed at the test's server, splits sent down their first variant and
    clicks counted however soon they come."""
    flow: dict[str, Any] = yaml.safe_load((FLOWS / f"{flow_id}.yaml").read_text())
    flow["triggers"] = [t if t["type"] == "event" else {"type": "api"} for t in flow["triggers"]]
    for step in flow["steps"]:
        match step["type"]:
            case "wait":
                for key in ("until", "until_date", "on_past"):
                    step.pop(key, None)
                step["duration"] = PAUSE
            case "wait_for":
                step["timeout"] = ACT_WITHIN
                step["include_machine"] = True  # the test clicks within seconds of delivery, as scanners do
            case "notify":
                step["url"] = f"{hook_url}/{flow_id}/{step['id']}"
            case "split":
                for variant in step["variants"]:
                    variant["weight"] = 1
                step["variants"][0]["weight"] = 10**9
    return yaml.safe_dump(flow, sort_keys=False, allow_unicode=True)


_COUPON = re.compile(rf"\b([A-Z0-9]{{1,20}})-[{ALPHABET}]{{{RANDOM_LENGTH}}}\b")
CODE_LIFE = timedelta(days=14)  # the example flows' generated codes (post-purchase's come-back step)
_TOKEN = re.compile(r"https?://127\.0\.0\.1:\d+/([copuf])/[A-Za-z0-9._~-]+")


def normalised(text: str, today: datetime | None = None) -> str:
    """Tokens, ports, generated discount codes, today's date (when the reader signed up) and the date a code
    issued today runs out as placeholders; trailing blanks trimmed."""
    text = _TOKEN.sub(lambda found: f"<tracker>/{found.group(1)}/<token>", text)
    text = _COUPON.sub(lambda found: f"{found.group(1)}-<code>", text)
    day = (today or datetime.now(UTC)).date()
    for locale in ("en", "nb"):
        text = text.replace(format_day(day, "long", locale_of(locale)), "<sign-up date>")
        text = text.replace(format_day(day + CODE_LIFE, "long", locale_of(locale)), "<code expiry>")
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def mail_snapshot(mail: ReceivedMail) -> str:
    return f"=== email to {mail.rcpt_tos[0]}\nSubject: {mail.subject}\n\n{normalised(mail.part('plain') or '')}"


def sms_snapshot(text: ReceivedSms) -> str:
    return f"=== SMS to {text.to}\n{normalised(text.body)}"


def hook_snapshot(path: str, body: dict[str, Any], contact_names: dict[str, str]) -> str:
    data = json.dumps(body.get("data"), indent=2, ensure_ascii=False, sort_keys=True)
    for contact_id, name in contact_names.items():
        data = data.replace(contact_id, f"<{name}'s contact id>")
    return f"=== webhook POST {path} ({body.get('flow_id')}, step {body.get('step_id')})\n{data}\n"


def compare(name: str, parts: list[str]) -> None:
    """The delivered parts against `golden/<name>.txt` (or, updating, written there)."""
    actual = "\n".join(parts)
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"no snapshot {path}: run with DRIPLINE_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert actual == expected, f"{name}: delivered messages differ from {path.relative_to(ROOT)}"


def unrendered(mail: ReceivedMail) -> list[str]:
    """What a reader must never see (as the dev inbox flags it): an empty link or picture, Liquid left as written."""
    return [f"{mail.subject!r} {problem}" for problem in mail.problems]
