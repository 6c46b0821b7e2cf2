"""One shop of the golden-email run: a workspace of its own on the running system, driven as a shop and its
customers would drive it (events to ingest, enrollments by API, opens and clicks through the tracker)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from dripline.devstack.inbox import ReceivedMail, ReceivedSms
from tests.support.system import System

FINAL = frozenset({"sent", "failed", "bounced", "suppressed"})
THUNDERBIRD = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird"}
POLL = 0.2


@dataclass
class Outcome:
    """What a scenario's contacts received, once their flows ended and every message was settled."""

    contacts: dict[str, str]  # first name -> contact id
    mails: list[ReceivedMail]
    texts: list[ReceivedSms]


async def _until(probe: Any, *, timeout: float, what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL)


DOMAIN = "golden.example"


class GoldenShop:
    """`domain` stands in for golden.example in every address the scenario uses (and a phone number gets another
    last digit): shops running the same scenario at once each get their own mail and texts. `locale` is their
    customers' language where the scenario names none."""

    def __init__(self, system: System, workspace_id: str, key: str, domain: str = DOMAIN, locale: str = "en") -> None:
        self.system, self.workspace_id, self.domain, self.locale = system, workspace_id, domain, locale
        headers = {"X-Api-Key": key}
        self.ingest = httpx.AsyncClient(base_url=system.ingest.base_url, headers=headers, timeout=30)
        self.scheduler = httpx.AsyncClient(base_url=system.scheduler.base_url, headers=headers, timeout=30)
        self.reader = httpx.AsyncClient(timeout=30)
        self.people: dict[str, tuple[str, str, str | None]] = {}  # contact id -> (first name, email, phone)

    async def close(self) -> None:
        for client in (self.ingest, self.scheduler, self.reader):
            await client.aclose()

    async def publish(self, flow_source: str) -> None:
        response = await self.scheduler.post(
            "/v1/flows", content=flow_source, headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 201, response.text

    def address(self, email: str) -> str:
        return email.replace(f"@{DOMAIN}", f"@{self.domain}")

    def _phone(self, phone: str | None) -> str | None:
        if phone is None or self.domain == DOMAIN:
            return phone
        return phone[:-1] + str((int(phone[-1]) + 1) % 10)

    async def event(self, body: dict[str, Any]) -> None:
        body = json.loads(json.dumps(body).replace(f"@{DOMAIN}", f"@{self.domain}"))
        response = await self.ingest.post("/v1/events", json=body)
        assert response.status_code == 202, response.text

    async def customer(
        self, email: str, first_name: str, *, source: str = "newsletter-form", topics: list[str] | None = None,
        locale: str | None = None, timezone: str | None = None, phone: str | None = None,
        attributes: dict[str, Any] | None = None, interests: list[str] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> str:  # fmt: skip
        """A sign-up agreeing to marketing (and to `topics`); the new contact's id."""
        email, phone = self.address(email), self._phone(phone)
        contact: dict[str, Any] = {"email": email, "first_name": first_name, "locale": locale or self.locale}
        contact |= {k: v for k, v in (("timezone", timezone), ("phone", phone), ("attributes", attributes)) if v}
        body: dict[str, Any] = {
            "type": "signup", "contact": contact, "source": source,
            "consent": {"marketing": True, "topics": topics or []},
        }  # fmt: skip
        body |= {k: v for k, v in (("interests", interests), ("properties", properties)) if v}
        await self.event(body)
        identified = await self.ingest.post("/v1/contacts", json={"email": email})
        assert identified.status_code == 202, identified.text
        contact_id = str(identified.json()["contact_id"])
        self.people[contact_id] = (first_name, email, phone)
        return contact_id

    async def timeline(self, contact_id: str) -> list[dict[str, Any]]:
        response = await self.ingest.get(f"/v1/contacts/{contact_id}")
        assert response.status_code == 200, response.text
        timeline: list[dict[str, Any]] = response.json()["timeline"]
        return timeline

    async def processed(self, contact_id: str, event_type: str) -> None:
        """Wait until the scheduler has taken an event of this type for the contact (it shows on the timeline)."""

        async def seen() -> bool:
            return any(e["kind"] == "event" and e["what"] == event_type for e in await self.timeline(contact_id))

        await _until(seen, timeout=30, what=f"{event_type} of {contact_id} to reach the flows")

    async def enroll(self, flow_id: str, contact_id: str) -> None:
        response = await self.scheduler.post("/v1/enrollments", json={"flow_id": flow_id, "contact_id": contact_id})
        assert response.status_code == 201, response.text

    async def mails(self, email: str, count: int) -> list[ReceivedMail]:
        email = self.address(email)

        async def arrived() -> list[ReceivedMail] | None:
            mails = sorted(self.system.sender.mails_to(email), key=lambda mail: mail.id)
            return mails if len(mails) >= count else None

        found: list[ReceivedMail] = await _until(arrived, timeout=30, what=f"{count} mails to {email}")
        return found

    async def follow(self, tracked: str) -> str:
        """Click a tracked link as a reader would: where it redirects to."""
        response = await self.reader.get(tracked, follow_redirects=False)
        assert response.status_code == 302, response.text
        return str(response.headers["location"])

    async def open(self, pixel: str) -> None:
        response = await self.reader.get(pixel, headers=THUNDERBIRD)
        assert response.status_code == 200

    async def finished(self, contact_id: str) -> None:
        """Every enrollment of the contact ended, and every message it asked for settled."""
        db = self.system.sender.db

        async def done() -> bool:
            response = await self.scheduler.get(f"/v1/contacts/{contact_id}/enrollments")
            states = response.json()
            if not states or any(state["status"] == "active" for state in states):
                return False
            wanted = [message for state in states for message in state["messages"].values()]
            rows = await db.fetch("SELECT state FROM send_ledger WHERE message_id = ANY($1::text[])", wanted)
            return len(rows) == len(wanted) and all(row["state"] in FINAL for row in rows)

        await _until(done, timeout=60, what=f"the flows of {self.people[contact_id][0]} to end")

    async def outcome(self, contact_ids: list[str]) -> Outcome:
        await asyncio.gather(*(self.finished(contact_id) for contact_id in contact_ids))
        mails: list[ReceivedMail] = []
        texts: list[ReceivedSms] = []
        for contact_id in contact_ids:
            _, email, phone = self.people[contact_id]
            mails += sorted(self.system.sender.mails_to(email), key=lambda mail: mail.id)
            texts += [text for text in self.system.sender.inbox.texts if phone and text.to == phone]
        names = {self.people[contact_id][0]: contact_id for contact_id in contact_ids}
        return Outcome(names, mails, texts)
