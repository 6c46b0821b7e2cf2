"""Broadcasts on the real stack: a newsletter to a segment, delivered once to each subscribed member (counted in
the SMTP inbox), the unsubscribed and the suppressed held with their reasons, and the lifecycle through the API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dripline.broadcasts_cli import broadcasts_app
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack
from tests.support.system import System, link, running_system

pytestmark = pytest.mark.stack

TEMPLATE = """
id: {id}
category: marketing
subject: "{subject}"
preheader: "This month at the shop"
html: |
  <html><body><p>Hi {{{{ contact.first_name | default: "there" }}}}, {body}</p>
  <p><a href="https://example.com/{id}">Read it</a></p></body></html>
text: |
  Hi {{{{ contact.first_name | default: "there" }}}}, {body}
tracking:
  opens: true
  clicks: true
"""
ZONES = ("UTC", "Europe/Paris", "Europe/Athens")


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "broadcasts") as running:
        yield running


async def publish_template(system: System, template_id: str, subject: str, body: str = "the news") -> None:
    source = TEMPLATE.format(id=template_id, subject=subject, body=body)
    await system.sender.runtime.templates.publish(system.workspace_id, source)


async def sign_up(system: System, people: list[dict[str, Any]]) -> None:
    """Sign-ups in batches of the ingest API's size."""
    for start in range(0, len(people), 500):
        events = [
            {"type": "signup", "contact": person, "consent": {"marketing": person.pop("_consent", True)}}
            for person in people[start : start + 500]
        ]
        response = await system.ingest.post("/v1/events/batch", json={"events": events})
        assert response.status_code == 202, response.text


async def segment_of(system: System, segment_id: str, tag: str) -> None:
    """A segment of the contacts tagged `tag` (made before they sign up: contacts are judged when they change)."""
    segment = {"id": segment_id, "name": segment_id, "condition": f'"{tag}" in contact.tags'}
    assert (await system.scheduler.post("/v1/segments", json=segment)).status_code == 201


async def filled(system: System, segment_id: str, members: int) -> None:
    async def filled() -> bool:
        found = (await system.scheduler.get(f"/v1/segments/{segment_id}")).json()
        return bool(found["members"] == members)

    await eventually(filled, timeout=60, what=f"{members} members in {segment_id}")


async def contact_of(system: System, email: str) -> str:
    async def probe() -> str | None:
        found: str | None = await system.sender.db.fetchval(
            "SELECT contact_id FROM contacts WHERE workspace_id = $1 AND profile->>'email' = $2",
            system.workspace_id,
            email,
        )
        return found

    return str(await eventually(probe, timeout=30, what=f"contact {email}"))


async def scheduler_json(system: System, path: str) -> dict[str, Any]:
    """The scheduler's answer to a GET that must succeed."""
    response = await system.scheduler.get(path)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def status_of(system: System, broadcast_id: str) -> dict[str, Any]:
    return await scheduler_json(system, f"/v1/broadcasts/{broadcast_id}")


async def test_newsletter_reaches_each_subscribed_member_once_and_holds_the_others_with_reasons(
    system: System,
) -> None:
    run = uuid.uuid4().hex[:6]
    tag, subject = f"news-{run}", f"December news {run}"
    await publish_template(system, f"news-{run}", subject)
    people: list[dict[str, Any]] = [
        {"email": f"n{i}.{run}@example.com", "first_name": f"N{i}", "tags": [tag], "timezone": ZONES[i % 3]}
        for i in range(30)
    ]
    unsubscribed: dict[str, Any] = {"email": f"gone.{run}@example.com", "tags": [tag]}
    bounced: dict[str, Any] = {"email": f"bounced.{run}@example.com", "tags": [tag]}
    never: dict[str, Any] = {"email": f"never.{run}@example.com", "tags": [tag], "_consent": False}
    await segment_of(system, f"seg-{run}", tag)
    await sign_up(system, [*people, unsubscribed, bounced, never])
    await filled(system, f"seg-{run}", 33)
    gone = await contact_of(system, unsubscribed["email"])
    changed = await system.ingest.put(f"/v1/contacts/{gone}/subscriptions", json={"subscriptions": {"*": False}})
    assert changed.status_code == 200, changed.text
    async with httpx.AsyncClient(base_url=system.tracker_url, headers={"X-Api-Key": system.key}) as tracker:
        hard = {"type": "bounce", "email": bounced["email"], "bounce_type": "hard"}
        assert (await tracker.post("/v1/bounces", json=hard)).status_code == 200

    body = {"id": f"dec-{run}", "name": "December newsletter", "templates": [f"news-{run}"],
            "audience": {"kind": "segment", "segment": f"seg-{run}"}}  # fmt: skip
    created = await system.scheduler.post("/v1/broadcasts", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "draft"
    scheduled = await system.scheduler.post(f"/v1/broadcasts/dec-{run}/schedule", json={"schedule": {"kind": "now"}})
    assert scheduled.status_code == 200, scheduled.text

    async def sent() -> dict[str, Any] | None:
        found = await status_of(system, f"dec-{run}")
        return found if found["state"] == "sent" else None

    final = await eventually(sent, timeout=60, what="the broadcast to finish")
    assert final["progress"]["resolved"] == 33 and final["progress"]["sent"] == 30, final
    assert final["progress"]["held"] == {
        "contact unsubscribed": 1,
        "email address bounced": 1,
        "no consent to marketing": 1,
    }, final

    async def delivered() -> bool:
        return all(system.sender.mails_to(person["email"]) for person in people)

    await eventually(delivered, timeout=60, what="every subscribed member's newsletter")
    for person in people:
        [mail] = system.sender.mails_to(person["email"])
        assert mail.subject == subject and f"Hi {person['first_name']}, the news" in (mail.part("plain") or "")
    for person in (unsubscribed, bounced, never):
        assert system.sender.mails_to(person["email"]) == []


async def audience_of(system: System, run: str, count: int) -> list[dict[str, Any]]:
    """`count` subscribed contacts in segment seg-<run>, and a template news-<run>."""
    tag = f"news-{run}"
    await publish_template(system, f"news-{run}", f"News {run}")
    await segment_of(system, f"seg-{run}", tag)
    people: list[dict[str, Any]] = [
        {"email": f"p{i}.{run}@example.com", "first_name": f"P{i}", "tags": [tag]} for i in range(count)
    ]
    await sign_up(system, people)
    await filled(system, f"seg-{run}", count)
    return people


def delivered_once(system: System, people: list[dict[str, Any]]) -> int:
    """How many of `people` got the broadcast; none got it twice."""
    counts = [len(system.sender.mails_to(person["email"])) for person in people]
    assert max(counts) <= 1, counts
    return sum(counts)


async def test_a_throttled_send_pauses_resumes_and_cancels_holding_the_rest(system: System) -> None:
    run = uuid.uuid4().hex[:6]
    people = await audience_of(system, run, 70)
    body = {"id": f"slow-{run}", "name": "Slow", "templates": [f"news-{run}"], "per_hour": 3600,
            "audience": {"kind": "segment", "segment": f"seg-{run}"}, "schedule": {"kind": "now"}}  # fmt: skip
    assert (await system.scheduler.post("/v1/broadcasts", json=body)).status_code == 201
    assert (await system.scheduler.post(f"/v1/broadcasts/slow-{run}/schedule", json={})).status_code == 200

    async def first_minute() -> dict[str, Any] | None:
        found = await status_of(system, f"slow-{run}")
        return found if found["progress"]["sent"] >= 60 else None

    sending = await eventually(first_minute, timeout=30, what="the throttle's first minute")
    assert sending["state"] == "sending" and sending["progress"]["sent"] < 65, sending  # one a second after that
    assert sending["progress"]["eta"] is not None
    paused = (await system.scheduler.post(f"/v1/broadcasts/slow-{run}/pause")).json()
    assert paused["state"] == "paused"
    await asyncio.sleep(2.5)
    still = await status_of(system, f"slow-{run}")
    assert still["progress"]["sent"] == paused["progress"]["sent"], still
    assert (await system.scheduler.post(f"/v1/broadcasts/slow-{run}/pause")).status_code == 409

    assert (await system.scheduler.post(f"/v1/broadcasts/slow-{run}/resume")).json()["state"] == "sending"

    async def moved_on() -> bool:
        now_sent: int = (await status_of(system, f"slow-{run}"))["progress"]["sent"]
        return now_sent > int(still["progress"]["sent"])

    await eventually(moved_on, timeout=30, what="the resumed send to go on")
    cancelled = (await system.scheduler.post(f"/v1/broadcasts/slow-{run}/cancel")).json()
    assert cancelled["state"] == "cancelled"
    sent: int = cancelled["progress"]["sent"]
    held = cancelled["progress"]["held"]
    assert sent < 70 and held == {"broadcast cancelled": 70 - sent} and cancelled["progress"]["remaining"] == 0

    async def all_arrived() -> bool:
        return delivered_once(system, people) == sent

    await eventually(all_arrived, timeout=30, what=f"{sent} newsletters")
    await asyncio.sleep(1.5)
    assert delivered_once(system, people) == sent


def dripline(*args: str) -> str:
    result = CliRunner().invoke(broadcasts_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_the_command_line_creates_schedules_and_follows_a_broadcast_to_its_end(
    system: System, stack: RealStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    run = uuid.uuid4().hex[:6]
    people = await audience_of(system, run, 5)
    spec = tmp_path / "news.yaml"
    audience = f"{{kind: segment, segment: seg-{run}}}"
    spec.write_text(f"id: cli-{run}\nname: From the shell\ntemplates: [news-{run}]\naudience: {audience}\n")
    workspace = ("--workspace", system.workspace_id)
    created = await asyncio.to_thread(dripline, "create", str(spec), *workspace)
    assert f"cli-{run}" in created and "draft" in created
    assert "scheduled" in await asyncio.to_thread(dripline, "schedule", f"cli-{run}", "--now", *workspace)
    followed = await asyncio.to_thread(dripline, "status", f"cli-{run}", "--follow", "--every", "0.2", *workspace)
    assert "sent" in followed and "5 sent, 0 held" in followed, followed
    assert f"cli-{run}" in await asyncio.to_thread(dripline, "list", *workspace)
    await eventually(lambda: _arrived(system, people), timeout=30, what="the newsletters")
    refused = await asyncio.to_thread(CliRunner().invoke, broadcasts_app, ["pause", f"cli-{run}", *workspace])
    assert refused.exit_code == 2 and "a sent broadcast cannot pause" in refused.output


async def _arrived(system: System, people: list[dict[str, Any]]) -> bool:
    return delivered_once(system, people) == len(people)


async def test_test_then_send_tries_both_subjects_on_a_sample_and_sends_the_winner_to_the_rest(
    system: System,
) -> None:
    run = uuid.uuid4().hex[:6]
    tag = f"ab-{run}"
    # Long enough to carry an open pixel (a short message carries none: spam filters frown on it).
    letter = "This month we visited the workshop where our chairs are made, and met the people who make them. " * 40
    await publish_template(system, f"ab-a-{run}", f"Plain subject {run}", letter)
    await publish_template(system, f"ab-b-{run}", f"Irresistible subject {run}", letter)
    await segment_of(system, f"seg-{run}", tag)
    people: list[dict[str, Any]] = [{"email": f"ab{i}.{run}@example.com", "tags": [tag]} for i in range(60)]
    await sign_up(system, people)
    await filled(system, f"seg-{run}", 60)
    body = {"id": f"ab-{run}", "name": "A/B", "templates": [f"ab-a-{run}", f"ab-b-{run}"],
            "audience": {"kind": "segment", "segment": f"seg-{run}"}, "schedule": {"kind": "now"},
            "test": {"sample_percent": 50, "wait": "12s", "metric": "opens"}}  # fmt: skip
    assert (await system.scheduler.post("/v1/broadcasts", json=body)).status_code == 201
    assert (await system.scheduler.post(f"/v1/broadcasts/ab-{run}/schedule", json={})).status_code == 200

    async def sample_out() -> dict[str, Any] | None:
        found = await status_of(system, f"ab-{run}")
        waiting = set(found["progress"]["waiting"])
        return found if found["test_ends_at"] and waiting == {"awaiting the test's winner"} else None

    testing = await eventually(sample_out, timeout=30, what="the sample's messages")
    sample = testing["progress"]["sent"]
    assert 15 <= sample <= 45 and testing["progress"]["waiting"] == {"awaiting the test's winner": 60 - sample}
    assert testing["winner"] is None

    async def sample_arrived() -> bool:
        return delivered_once(system, people) == int(sample)

    await eventually(sample_arrived, timeout=30, what="the sample's mails")
    # People open B's subject, never A's.
    reader = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird"}
    async with httpx.AsyncClient(headers=reader) as client:
        for person in people:
            for mail in system.sender.mails_to(person["email"]):
                if mail.subject.startswith("Irresistible"):
                    assert (await client.get(link(mail, "o"))).status_code == 200

    async def sent() -> dict[str, Any] | None:
        found = await status_of(system, f"ab-{run}")
        return found if found["state"] == "sent" else None

    final = await eventually(sent, timeout=60, what="the winner to go to the rest")
    assert final["winner"] == f"ab-b-{run}", final["decision"]
    decision = final["decision"]
    assert decision["significant"] and decision["p_value"] < 0.05 and "significantly better" in decision["why"]
    arms = {arm["variant"]: arm for arm in decision["arms"]}
    assert arms[f"ab-a-{run}"]["successes"] == 0 and arms[f"ab-b-{run}"]["successes"] == arms[f"ab-b-{run}"]["trials"]

    async def everyone() -> bool:
        return delivered_once(system, people) == 60

    await eventually(everyone, timeout=30, what="the rest's mails")
    subjects = [system.sender.mails_to(p["email"])[0].subject for p in people]
    plain = sum(1 for s in subjects if s.startswith("Plain"))
    assert plain == arms[f"ab-a-{run}"]["trials"] and len(subjects) - plain == 60 - plain

    async def all_delivered() -> dict[str, Any] | None:
        found = await status_of(system, f"ab-{run}")
        return found if sum(v["delivered"] for v in found["funnel"].values()) == 60 else None

    funnel = (await eventually(all_delivered, timeout=30, what="the sender's ledger to say sent"))["funnel"]
    a, b = arms[f"ab-a-{run}"]["trials"], arms[f"ab-b-{run}"]["trials"]
    assert funnel[f"ab-a-{run}"] == {"requested": a, "delivered": a, "opened": 0, "clicked": 0}
    assert funnel[f"ab-b-{run}"] == {"requested": 60 - a, "delivered": 60 - a, "opened": b, "clicked": 0}


async def test_a_broadcast_to_a_segment_the_workspace_does_not_have_is_refused_naming_the_field(
    system: System,
) -> None:
    run = uuid.uuid4().hex[:6]
    await segment_of(system, f"seg-{run}", f"tag-{run}")
    body = {"id": f"typo-{run}", "name": "Typo", "templates": ["news"],
            "audience": {"kind": "segment", "segment": f"seg-{run}x"},
            "exclude_segments": [f"seg-{run}", "nope"]}  # fmt: skip
    refused = await system.scheduler.post("/v1/broadcasts", json=body)
    assert refused.status_code == 422
    assert [(e["loc"], e["msg"]) for e in refused.json()["detail"]] == [
        (["body", "audience", "segment"], f"this workspace has no segment 'seg-{run}x'"),
        (["body", "exclude_segments", 1], "this workspace has no segment 'nope'"),
    ]
    assert (await system.scheduler.get(f"/v1/broadcasts/typo-{run}")).status_code == 404


async def test_a_throttle_per_receiving_domain_sends_each_domain_its_minutes_share_and_lets_the_rest_wait(
    system: System,
) -> None:
    run = uuid.uuid4().hex[:6]
    tag = f"dom-{run}"
    await publish_template(system, f"dom-{run}", f"Domain news {run}")
    await segment_of(system, f"seg-{run}", tag)
    busy = [{"email": f"b{i}.{run}@mail.example.com", "tags": [tag]} for i in range(5)]
    quiet = [{"email": f"q{i}.{run}@example.com", "tags": [tag]} for i in range(2)]
    await sign_up(system, [*busy, *quiet])
    await filled(system, f"seg-{run}", 7)
    body = {"id": f"dom-{run}", "name": "Per domain", "templates": [f"dom-{run}"],
            "audience": {"kind": "segment", "segment": f"seg-{run}"}, "schedule": {"kind": "now"},
            "per_domain_per_hour": 120}  # fmt: skip
    assert (await system.scheduler.post("/v1/broadcasts", json=body)).status_code == 201
    assert (await system.scheduler.post(f"/v1/broadcasts/dom-{run}/schedule", json={})).status_code == 200

    async def first_minute() -> dict[str, Any] | None:
        found = await status_of(system, f"dom-{run}")
        return found if found["progress"]["sent"] == 4 and found["progress"]["remaining"] == 3 else None

    found = await eventually(first_minute, timeout=30, what="each domain's share of the first minute")
    # 120 an hour is two a minute per domain: both of example.com's went, two of mail.example.com's five.
    assert found["progress"]["waiting"] == {"receiving domain throttle (mail.example.com)": 3}, found
    assert found["state"] == "sending"

    async def delivered() -> int | None:
        count = sum(len(system.sender.mails_to(p["email"])) for p in [*busy, *quiet])
        return count if count >= 4 else None

    assert await eventually(delivered, timeout=30, what="the first minute's four mails") == 4
    assert all(len(system.sender.mails_to(p["email"])) == 1 for p in quiet)
    cancelled = await system.scheduler.post(f"/v1/broadcasts/dom-{run}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["progress"]["held"] == {"broadcast cancelled": 3}
