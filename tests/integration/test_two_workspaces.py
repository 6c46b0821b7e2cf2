"""Two workspaces on one stack: nothing one does with its key reaches the other's data.

Workspace B has a contact in a flow, a template, a segment, a topic, settings, reports and a sent
message. Workspace A, with an admin key, calls every authenticated endpoint of the four services
(walked from the apps, `tests/support/routes.py`: a new endpoint fails here until it has a case) with
B's ids: reads answer 404 or an empty list, writes act on A's own namesakes, and every row of B is the
same afterwards. Then the same contact id in both workspaces: erasing it in A leaves B's contact, flows,
timers and waiting records alone, and B still gets its next email.
"""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from shared.contact_data import erase_contact
from shared.contract.contacts import contact_key
from shared.contract.topics import CONTACTS, MESSAGES_REQUESTED
from shared.kafka.producer import OutgoingRecord
from shared.outbox import enqueue
from shared.outbox_frames import unpack
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES, eventually
from tests.support.routes import SERVICES, endpoints
from tests.support.stack import RealStack
from tests.support.system import System, running_system, single_opt_in_workspace
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

FLOW = """
id: {flow_id}
name: Welcome
triggers: [{{type: event, event: signup}}]
steps:
  - {{id: hello, type: send, template: welcome-hello}}
  - {{id: breather, type: wait, duration: {wait}}}
  - {{id: follow-up, type: send, template: welcome-checkin}}
"""
# B's draft broadcast (drafts send nothing, so B's rows stay still).
BROADCAST = {"id": "b-newsletter", "name": "B's news", "templates": ["welcome-hello"],
             "audience": {"kind": "segment", "segment": "vip"}}  # fmt: skip
# Rows that change by themselves: reconciliation drops a request once the sender's ledger has it.
BACKGROUND = {"message_requests"}


@dataclass
class Victim:
    """Workspace B and the ids of what it holds."""

    workspace_id: str
    contact_id: str
    email: str
    flow_id: str
    template_id: str
    segment_id: str
    topic: str
    message_id: str
    policy: dict[str, Any]
    analytics: dict[str, Any]


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "tenants") as running:
        yield running


async def _templates(system: System, workspace_id: str) -> None:
    for template in ("welcome-hello", "welcome-checkin"):
        await system.sender.runtime.templates.publish(workspace_id, (EXAMPLES / f"{template}.yaml").read_text())


async def _attacker(system: System, stack: RealStack) -> dict[str, httpx.AsyncClient]:
    _, key = await single_opt_in_workspace(stack)
    urls = {
        "ingest": str(system.ingest.base_url),
        "scheduler": str(system.scheduler.base_url),
        "sender": system.sender.url,
        "tracker": system.tracker_url,
    }
    return {name: httpx.AsyncClient(base_url=url, headers={"X-Api-Key": key}, timeout=30) for name, url in urls.items()}


async def _victim(system: System) -> Victim:
    b = Victim(system.workspace_id, "", f"b.{uuid.uuid4().hex[:8]}@example.com", "welcome", "welcome-hello", "vip",
               "newsletter", "", {"time_zone": "Pacific/Auckland", "caps": [], "grace_after_signup": "0s"},
               {"click_window": "3d", "open_window": "6h", "value_event": "order_paid"})  # fmt: skip
    await _templates(system, b.workspace_id)
    scheduler, ingest = system.scheduler, system.ingest
    assert (await scheduler.put("/v1/policy", json=b.policy)).status_code == 200
    b.policy = (await scheduler.get("/v1/policy")).json()
    b.analytics = (await scheduler.put("/v1/reports/settings", json=b.analytics)).json()
    await publish(scheduler, FLOW.format(flow_id=b.flow_id, wait="1h"))
    segment = {"id": b.segment_id, "name": "VIPs", "condition": '"vip" in contact.tags'}
    assert (await scheduler.post("/v1/segments", json=segment)).status_code == 201
    assert (await scheduler.post("/v1/broadcasts", json=BROADCAST)).status_code == 201
    assert (await ingest.put(f"/v1/topics/{b.topic}", json={"name": "Newsletter"})).status_code == 200
    sender = httpx.AsyncClient(base_url=system.sender.url, headers={"X-Api-Key": system.key}, timeout=30)
    async with sender:
        assert (await sender.put("/v1/test-recipients", json={"addresses": [b.email]})).status_code == 200
        assert (await sender.put("/v1/default-locale", json={"locale": "sv"})).status_code == 200
    signup = {"type": "signup", "contact": {"email": b.email, "tags": ["vip"]}, "consent": {"marketing": True}}
    assert (await ingest.post("/v1/events", json=signup)).status_code == 202
    await eventually(_arrived(system, b.email), timeout=30, what="B's welcome")
    pool = system.sender.db
    row = await pool.fetchrow("SELECT message_id, contact_id FROM send_ledger WHERE workspace_id = $1", b.workspace_id)
    b.message_id, b.contact_id = row["message_id"], row["contact_id"]

    async def delivered() -> bool:
        flows = (await scheduler.get("/v1/reports/flows")).json()
        return bool(flows) and flows[0]["counts"]["delivered"] == 1

    await eventually(delivered, timeout=30, what="B's report to count the delivery")
    return b


def _mails(system: System, address: str, subject: str = "") -> list[Any]:
    return [mail for mail in system.sender.mails_to(address) if subject in (mail.subject or "")]


def _arrived(system: System, address: str, subject: str = "") -> Callable[[], Awaitable[list[Any]]]:
    async def probe() -> list[Any]:
        return _mails(system, address, subject)

    return probe


async def _rows(pool: asyncpg.Pool, workspace_id: str) -> dict[str, list[str]]:
    """Every row of the workspace, table by table, as sortable text."""
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND column_name = 'workspace_id' ORDER BY table_name"
    )
    found = {"workspaces": [str(dict(await pool.fetchrow("SELECT * FROM workspaces WHERE id = $1", workspace_id)))]}
    for table in [row["table_name"] for row in tables if row["table_name"] not in BACKGROUND]:
        rows = await pool.fetch(f'SELECT * FROM "{table}" WHERE workspace_id = $1', workspace_id)
        found[table] = sorted(str(dict(row)) for row in rows)
    return found


Call = Callable[[dict[str, httpx.AsyncClient], Victim], Awaitable[httpx.Response]]


def _get(service: str, path: str, **params: str) -> Call:
    return lambda a, b: a[service].get(path.format(b=b), params={k: v.format(b=b) for k, v in params.items()})


def _send(service: str, method: str, path: str, body: Callable[[Victim], Any], **headers: str) -> Call:
    def call(a: dict[str, httpx.AsyncClient], b: Victim) -> Awaitable[httpx.Response]:
        payload = body(b)
        if isinstance(payload, bytes):
            return a[service].request(method, path.format(b=b), content=payload, headers=headers)
        return a[service].request(method, path.format(b=b), json=payload)

    return call


def _not_found(response: httpx.Response, b: Victim) -> None:
    assert response.status_code == 404, response.text


def _empty(response: httpx.Response, b: Victim) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body in ([], {"addresses": []}) or body.get("cohorts") == [], body


def _no_default_locale(response: httpx.Response, b: Victim) -> None:
    """A has set no default locale; B's (sv) is not what A reads."""
    assert response.status_code == 200 and response.json() == {"locale": None}, response.text


def _own(*statuses: int) -> Callable[[httpx.Response, Victim], None]:
    """A write that acts on A's own namesake: accepted, and (checked at the end) nothing of B changed."""

    def check(response: httpx.Response, b: Victim) -> None:
        assert response.status_code in statuses, response.text

    return check


def _not_bs(field: str) -> Callable[[httpx.Response, Victim], None]:
    def check(response: httpx.Response, b: Victim) -> None:
        assert response.status_code == 200 and response.json() != getattr(b, field), response.text

    return check


def _no_channels(response: httpx.Response, b: Victim) -> None:
    """A's consent report counts A's contacts (none), never B's email consent."""
    assert response.status_code == 200 and response.json() == {"channels": []}, response.text


def _counts_none(response: httpx.Response, b: Victim) -> None:
    """A count over A's contacts only: B's contact is not among them."""
    assert response.status_code == 200 and response.json()["members"] == 0, response.text


def _page_without_b(response: httpx.Response, b: Victim) -> None:
    assert response.status_code == 200 and "No" in response.text and "data-flow" not in response.text, response.text


DSN = (
    "From: MAILER-DAEMON@mx.example.com\nTo: bounces@shop.example\nSubject: failure\nMIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n--B\nContent-Type: text/plain\n\n'
    "failed\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
    "Final-Recipient: rfc822; {b.email}\nAction: failed\nStatus: 5.1.1\n\n--B\n"
    "Content-Type: text/rfc822-headers\n\nMessage-ID: <{b.message_id}@shop.example>\n\n--B--\n"
)
TRACK = {"type": "track", "name": "poked"}
# Reads and erasures first (they must find nothing), then the writes that make A's own namesakes.
CASES: dict[str, tuple[Call, Callable[[httpx.Response, Victim], None]]] = {
    "ingest GET /v1/contacts/{contact_id}": (_get("ingest", "/v1/contacts/{b.contact_id}"), _not_found),
    "ingest GET /v1/contacts": (_get("ingest", "/v1/contacts", email="{b.email}"), _not_found),
    "ingest GET /v1/contacts/{contact_id}/export": (_get("ingest", "/v1/contacts/{b.contact_id}/export"), _not_found),
    "ingest DELETE /v1/contacts/{contact_id}": (
        _send("ingest", "DELETE", "/v1/contacts/{b.contact_id}", lambda b: None),
        _not_found,
    ),
    "ingest PUT /v1/contacts/{contact_id}/subscriptions": (
        _send("ingest", "PUT", "/v1/contacts/{b.contact_id}/subscriptions", lambda b: {"subscriptions": {"*": False}}),
        _not_found,
    ),
    "ingest GET /v1/topics": (_get("ingest", "/v1/topics"), _empty),
    "scheduler GET /v1/flows": (_get("scheduler", "/v1/flows"), _empty),
    "scheduler GET /v1/flows/{flow_id}": (_get("scheduler", "/v1/flows/{b.flow_id}"), _not_found),
    **{
        f"scheduler POST /v1/flows/{{flow_id}}/{action}": (
            _send("scheduler", "POST", f"/v1/flows/{{b.flow_id}}/{action}", lambda b: {}),
            _not_found,
        )
        for action in ("pause", "resume", "migrate", "simulate")
    },
    "scheduler POST /v1/enrollments": (
        _send("scheduler", "POST", "/v1/enrollments", lambda b: {"flow_id": b.flow_id, "contact_id": b.contact_id}),
        _not_found,
    ),
    "scheduler GET /v1/contacts/{contact_id}/enrollments": (
        _get("scheduler", "/v1/contacts/{b.contact_id}/enrollments"),
        _empty,
    ),
    "scheduler GET /v1/policy": (_get("scheduler", "/v1/policy"), _not_bs("policy")),
    "scheduler GET /v1/segments": (_get("scheduler", "/v1/segments"), _empty),
    "scheduler GET /v1/segments/{segment_id}": (_get("scheduler", "/v1/segments/{b.segment_id}"), _not_found),
    "scheduler DELETE /v1/segments/{segment_id}": (
        _send("scheduler", "DELETE", "/v1/segments/{b.segment_id}", lambda b: None),
        _not_found,
    ),
    "scheduler GET /v1/broadcasts": (_get("scheduler", "/v1/broadcasts"), _empty),
    "scheduler GET /v1/broadcasts/{broadcast_id}": (_get("scheduler", "/v1/broadcasts/b-newsletter"), _not_found),
    **{
        f"scheduler POST /v1/broadcasts/{{broadcast_id}}/{action}": (
            _send("scheduler", "POST", f"/v1/broadcasts/b-newsletter/{action}", lambda b: {}),
            _not_found,
        )
        for action in ("schedule", "pause", "resume", "cancel")
    },
    "scheduler GET /v1/reports/flows": (_get("scheduler", "/v1/reports/flows"), _empty),
    "scheduler GET /v1/reports/broadcasts/{broadcast_id}": (
        _get("scheduler", "/v1/reports/broadcasts/b-newsletter"),
        _not_found,
    ),
    "scheduler GET /v1/reports/consent": (_get("scheduler", "/v1/reports/consent"), _no_channels),
    "scheduler GET /v1/reports/flows/{flow_id}": (_get("scheduler", "/v1/reports/flows/{b.flow_id}"), _not_found),
    "scheduler GET /v1/reports/flows/{flow_id}/ab": (
        _get("scheduler", "/v1/reports/flows/{b.flow_id}/ab"),
        _not_found,
    ),
    "scheduler GET /v1/reports/flows/{flow_id}/lifecycle": (
        _get("scheduler", "/v1/reports/flows/{b.flow_id}/lifecycle"),
        _not_found,
    ),
    "scheduler GET /v1/reports/cohorts": (_get("scheduler", "/v1/reports/cohorts", flow="{b.flow_id}"), _empty),
    "scheduler GET /v1/reports/settings": (_get("scheduler", "/v1/reports/settings"), _not_bs("analytics")),
    "scheduler GET /dashboard": (_get("scheduler", "/dashboard"), _page_without_b),
    "scheduler GET /dashboard/flows/{flow_id}": (_get("scheduler", "/dashboard/flows/{b.flow_id}"), _page_without_b),
    "scheduler GET /dashboard/broadcasts": (_get("scheduler", "/dashboard/broadcasts"), _page_without_b),
    "scheduler GET /dashboard/broadcasts/{broadcast_id}": (
        _get("scheduler", "/dashboard/broadcasts/b-newsletter"),
        _page_without_b,
    ),
    "sender GET /v1/templates": (_get("sender", "/v1/templates"), _empty),
    "sender GET /v1/templates/{template_id}": (_get("sender", "/v1/templates/{b.template_id}"), _not_found),
    "sender POST /v1/templates/{template_id}/preview": (
        _send("sender", "POST", "/v1/templates/{b.template_id}/preview", lambda b: {"contact_id": b.contact_id}),
        _not_found,
    ),
    "sender POST /v1/templates/{template_id}/test-send": (
        _send("sender", "POST", "/v1/templates/{b.template_id}/test-send", lambda b: {"to": b.email}),
        _not_found,
    ),
    "sender GET /v1/test-recipients": (_get("sender", "/v1/test-recipients"), _empty),
    "sender GET /v1/default-locale": (_get("sender", "/v1/default-locale"), _no_default_locale),
    # A's key reaches only A's own sending domain, which it has none of yet.
    "sender GET /v1/sending-domain": (_get("sender", "/v1/sending-domain"), _not_found),
    "sender POST /v1/sending-domain/verify": (
        _send("sender", "POST", "/v1/sending-domain/verify", lambda b: None),
        _not_found,
    ),
    # Writes: each makes or changes A's own namesake.
    "ingest POST /v1/events": (
        _send("ingest", "POST", "/v1/events", lambda b: {**TRACK, "contact": {"contact_id": b.contact_id}}),
        _own(202),
    ),
    "ingest POST /v1/events/batch": (
        _send("ingest", "POST", "/v1/events/batch", lambda b: {"events": [{**TRACK, "contact": {"email": b.email}}]}),
        _own(202),
    ),
    "ingest POST /v1/contacts": (_send("ingest", "POST", "/v1/contacts", lambda b: {"email": b.email}), _own(202)),
    "ingest PUT /v1/topics/{topic}": (
        _send("ingest", "PUT", "/v1/topics/{b.topic}", lambda b: {"name": "Taken over"}),
        _own(200),
    ),
    "scheduler POST /v1/flows": (
        _send("scheduler", "POST", "/v1/flows", lambda b: {"source": FLOW.format(flow_id=b.flow_id, wait="2h")}),
        _own(201),
    ),
    "scheduler POST /v1/broadcasts": (  # A has no segment 'vip' of its own: its broadcast with B's id goes to marketing
        _send("scheduler", "POST", "/v1/broadcasts", lambda b: {**BROADCAST, "audience": {"kind": "marketing"}}),
        _own(201),
    ),
    "scheduler PUT /v1/policy": (_send("scheduler", "PUT", "/v1/policy", lambda b: {"time_zone": "UTC"}), _own(200)),
    "scheduler POST /v1/segments": (
        _send("scheduler", "POST", "/v1/segments", lambda b: {"id": b.segment_id, "name": "Mine", "condition": "true"}),
        _own(201),
    ),
    "scheduler POST /v1/segments/preview": (
        _send(
            "scheduler",
            "POST",
            "/v1/segments/preview",
            lambda b: {"id": "b", "name": "B's", "condition": f'contact.id == "{b.contact_id}"'},
        ),
        _counts_none,
    ),
    "scheduler PUT /v1/reports/settings": (
        _send("scheduler", "PUT", "/v1/reports/settings", lambda b: {"value_event": "purchase"}),
        _own(200),
    ),
    "sender POST /v1/templates": (
        _send("sender", "POST", "/v1/templates", lambda b: {"source": (EXAMPLES / "welcome-hello.yaml").read_text()}),
        _own(201),
    ),
    "sender PUT /v1/test-recipients": (
        _send("sender", "PUT", "/v1/test-recipients", lambda b: {"addresses": [b.email]}),
        _own(200),
    ),
    "sender PUT /v1/default-locale": (
        _send("sender", "PUT", "/v1/default-locale", lambda b: {"locale": "nb"}),
        _own(200),
    ),
    "sender PUT /v1/sending-domain": (
        _send("sender", "PUT", "/v1/sending-domain", lambda b: {"domain": "a-shop.example", "from_name": "A"}),
        _own(200),
    ),
    "tracker POST /v1/bounces": (
        _send(
            "tracker",
            "POST",
            "/v1/bounces",
            lambda b: {"type": "bounce", "email": b.email, "bounce_type": "hard", "message_id": b.message_id},
        ),
        _own(200),
    ),
    "tracker POST /v1/bounces/dsn": (
        _send(
            "tracker",
            "POST",
            "/v1/bounces/dsn",
            lambda b: DSN.format(b=b).encode(),
            **{"Content-Type": "message/rfc822"},
        ),
        _own(200),
    ),
}


async def test_a_workspace_reaches_nothing_of_another_through_any_endpoint(system: System, stack: RealStack) -> None:
    scoped = {e.name for service, app in SERVICES.items() for e in endpoints(service, app()) if e.scope is not None}
    assert scoped == set(CASES), (
        f"endpoints without a case here: {sorted(scoped - set(CASES))}; cases without an endpoint: "
        f"{sorted(set(CASES) - scoped)}"
    )
    b = await _victim(system)
    before = await _rows(system.sender.db, b.workspace_id)
    held = ("contacts", "enrollments", "timers", "segment_members", "send_ledger", "templates", "analytics_messages")
    assert all(before[table] for table in held), {table: len(before[table]) for table in held}
    a = await _attacker(system, stack)
    try:
        for name, (call, expect) in CASES.items():
            response = await call(a, b)
            try:
                expect(response, b)
            except AssertionError as error:
                raise AssertionError(f"{name}: {error}") from error
    finally:
        for client in a.values():
            await client.aclose()
    await asyncio.sleep(1.0)  # what A's writes put on the bus has been consumed by now
    after = await _rows(system.sender.db, b.workspace_id)
    changed = {table for table in before.keys() | after.keys() if before.get(table) != after.get(table)}
    assert changed == set(), {table: (before.get(table), after.get(table)) for table in changed}
    assert (await system.ingest.get(f"/v1/contacts/{b.contact_id}")).json()["profile"]["email"] == b.email


async def test_erasing_a_contact_id_in_one_workspace_leaves_the_same_id_in_another_alone(
    system: System, stack: RealStack
) -> None:
    same = f"twin-{uuid.uuid4().hex[:10]}"
    a_id, a_key = await single_opt_in_workspace(stack)
    b_id = system.workspace_id
    flow = FLOW.format(flow_id="twin", wait="6s")
    emails = {a_id: f"a.{same}@example.com", b_id: f"b.{same}@example.com"}
    async with (
        httpx.AsyncClient(base_url=str(system.ingest.base_url), headers={"X-Api-Key": a_key}, timeout=30) as a_ingest,
        httpx.AsyncClient(base_url=str(system.scheduler.base_url), headers={"X-Api-Key": a_key}, timeout=30) as a_flows,
    ):
        for workspace_id, ingest, flows in ((a_id, a_ingest, a_flows), (b_id, system.ingest, system.scheduler)):
            await _templates(system, workspace_id)
            await publish(flows, textwrap.dedent(flow))
            signup = {"type": "signup", "contact": {"contact_id": same, "email": emails[workspace_id]},
                      "consent": {"marketing": True}}  # fmt: skip
            assert (await ingest.post("/v1/events", json=signup)).status_code == 202
        for address in emails.values():
            await eventually(_arrived(system, address, "Welcome"), timeout=30, what=f"{address}'s welcome")

        pool = system.sender.db
        kept = {t: await _contact_rows(pool, t, b_id, same) for t in ("contacts", "enrollments", "timers")}
        assert all(kept.values()), kept
        await _erasure_leaves_bs_waiting_records(pool, a_id, b_id, same)

        erased = await a_ingest.delete(f"/v1/contacts/{same}")
        assert erased.status_code == 200, erased.text
        assert erased.json()["removed"]["contacts"] == 1

    [tombstone] = await read_topic(
        system.stack,
        CONTACTS,
        count=1,
        where=lambda r: r["__key__"] == contact_key(a_id, same) and "__tombstone__" in r,
    )
    assert tombstone["__headers__"]["workspace-id"] == a_id
    # B's follow-up timer fires 6 s after its welcome: the tombstone was handled long before.
    await eventually(_arrived(system, emails[b_id], "going"), timeout=30, what="B's follow-up")
    assert await _contact_rows(pool, "contacts", b_id, same) == kept["contacts"]
    assert await _contact_rows(pool, "contact_history", b_id, same)  # forgetting A's contact kept B's history
    assert _mails(system, emails[a_id], "going") == []
    assert await _contact_rows(pool, "contacts", a_id, same) == []


async def _contact_rows(pool: asyncpg.Pool, table: str, workspace_id: str, contact_id: str) -> list[str]:
    rows = await pool.fetch(
        f'SELECT * FROM "{table}" WHERE workspace_id = $1 AND contact_id = $2', workspace_id, contact_id
    )
    return sorted(str(dict(row)) for row in rows)


async def _erasure_leaves_bs_waiting_records(pool: asyncpg.Pool, a_id: str, b_id: str, contact_id: str) -> None:
    """Records of both workspaces' contacts waiting in the outbox when A erases: only A's go. Inside a
    transaction that is rolled back, so no relay sends these made-up records."""

    def waiting(workspace_id: str) -> list[OutgoingRecord]:
        value = orjson.dumps({"workspace_id": workspace_id, "contact_id": contact_id, "event_id": uuid.uuid4().hex})
        return [
            OutgoingRecord(MESSAGES_REQUESTED, contact_id, value),
            OutgoingRecord(CONTACTS, contact_key(workspace_id, contact_id), value),
        ]

    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            theirs = waiting(b_id)
            await enqueue(connection, [*waiting(a_id), *theirs])
            removed = await erase_contact(connection, a_id, contact_id)
            assert removed["outbox"] >= 2  # the two made up, and any of A's own still waiting for the relay
            rows = await connection.fetch("SELECT records FROM outbox")
            left = [r for row in rows for r in unpack(row["records"]) if contact_id.encode() in (r.value or b"")]
            assert all(record in left for record in theirs)  # B's stay
            assert [r for r in left if a_id in r.key or a_id.encode() in (r.value or b"")] == []  # none of A's
        finally:
            await transaction.rollback()
