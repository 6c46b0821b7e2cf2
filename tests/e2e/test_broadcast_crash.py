"""A broadcast survives `kill -9` of the scheduler and of the sender mid-send: each contact's mail once in the inbox.

The scheduler and the sender run as processes of their own. The broadcast goes to 70 contacts at 3,600 an hour
(a minute's worth, 60, at once, then one a second), so when the inbox has its first mails the scheduler still has
contacts to ask for and the sender has most of the 60 in hand. The inbox then holds the sender's next messages
open in the middle of their SMTP conversations (none accepted), and both processes are killed with SIGKILL. Both
start again: the scheduler asks for those left, the sender takes back the messages its dead predecessor had
claimed, and once the sender's ledger says every message went, each subscribed contact has exactly one copy in
the inbox, the unsubscribed one none.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from dripline.devstack.broker import EMBEDDED_GROUP_TIMING, free_port
from dripline.devstack.inbox import Inbox
from services.ingest.app import create_app as create_ingest
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings
from tests.integration.sender.conftest import eventually
from tests.integration.test_broadcasts import TEMPLATE
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.system import KEYS, single_opt_in_workspace

pytestmark = pytest.mark.stack

PEOPLE = 70
PER_HOUR = 3600  # 60 at once, then one a second


class HeldInbox(Inbox):
    """The dev inbox, able to hold messages in the middle of DATA: not accepted until let go. A message whose
    sender dies meanwhile is never accepted (the server drops the conversation with the connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.open.set()
        self.holding = 0
        self.dropped = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd
        if not self.open.is_set():
            self.holding += 1
            try:
                await self.open.wait()
            except asyncio.CancelledError:
                self.dropped += 1  # the connection was lost: nothing accepted
                raise
        return await super().handle_DATA(server, session, envelope)


def environment(stack: RealStack, prefix: str, **settings: object) -> dict[str, str]:
    """A service's settings as its process reads them; nothing of this machine's own DRIPLINE_* leaks in."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DRIPLINE_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    values = {"environment": "local", "topic_prefix": prefix, "topic_partitions": 4, "log_json": "false"}
    values |= {**EMBEDDED_GROUP_TIMING, **settings}  # a killed member's partitions move on within a second
    return (
        base
        | {"DATABASE_URL": stack.database_url, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap}
        | {f"DRIPLINE_{name.upper()}": str(value) for name, value in values.items()}
    )


class Service:
    """One service as its own process, started again after a kill; its output goes to a log file."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name, self._env, self._workdir = name, env, workdir
        self.url = f"http://127.0.0.1:{env[f'DRIPLINE_{name.upper()}_PORT']}"
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        with open(self._workdir / f"{self.name}.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"], cwd=self._workdir, env=self._env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def start(self, *, wait: bool = True) -> None:
        self._spawn()
        if not wait:
            return

        async def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log()[-3000:]
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout=60, what=f"the {self.name} to be ready")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        """At the end of the test, as at a crash: nothing of its state matters any more."""
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def log(self) -> str:
        return (self._workdir / f"{self.name}.log").read_text(errors="replace")


@asynccontextmanager
async def services(*running: Service) -> AsyncIterator[None]:
    try:
        await asyncio.gather(*(service.start() for service in running))
        yield
    finally:
        for service in running:
            service.stop()


@pytest.mark.timeout(240)
async def test_a_broadcast_survives_kill_9_of_the_scheduler_and_the_sender_mid_send(
    stack: RealStack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    prefix = f"{stack.topic_prefix}crash{run}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    workspace_id, key = await single_opt_in_workspace(stack)
    headers = {"X-Api-Key": key}
    inbox, smtp_port = HeldInbox(), free_port()
    smtp = await asyncio.get_running_loop().create_server(
        lambda: SMTP(inbox, hostname="inbox", enable_SMTPUTF8=True), host="127.0.0.1", port=smtp_port
    )
    shared = {"link_signing_keys": KEYS.get_secret_value(), "tracker_public_url": "http://127.0.0.1:9"}
    scheduler = Service("scheduler", environment(
        stack, prefix, **shared, scheduler_host="127.0.0.1", scheduler_port=free_port(), timer_poll_seconds=0.2,
        outbox_poll_seconds=0.2, broadcast_poll_seconds=0.1,
    ), tmp_path)  # fmt: skip
    sender = Service("sender", environment(
        stack, prefix, **shared, sender_host="127.0.0.1", sender_port=free_port(), smtp_host="127.0.0.1",
        smtp_port=smtp_port, smtp_starttls="false", smtp_timeout_seconds=60, mail_from="Shop <news@shop.example>",
        stale_send_seconds=2, retry_poll_seconds=0.2, retry_schedule="1s 1s",
    ), tmp_path)  # fmt: skip
    people = [f"k{i}.{run}@example.com" for i in range(PEOPLE)]
    gone = f"gone.{run}@example.com"
    try:
        async with AsyncExitStack() as outer:
            ingest_url = await outer.enter_async_context(
                serving(create_ingest(stack.settings(IngestSettings, topic_prefix=prefix, **shared)))
            )
            ingest = await outer.enter_async_context(httpx.AsyncClient(base_url=ingest_url, headers=headers))
            await outer.enter_async_context(services(scheduler, sender))
            api = await outer.enter_async_context(httpx.AsyncClient(base_url=scheduler.url, headers=headers))
            source = TEMPLATE.format(id=f"crash-{run}", subject=f"News {run}", body="the news")
            async with httpx.AsyncClient(headers=headers) as client:
                published = await client.post(f"{sender.url}/v1/templates", json={"source": source})
            assert published.status_code in (200, 201), published.text
            segment = {"id": f"crash-{run}", "name": "Crash", "condition": f'"crash-{run}" in contact.tags'}
            assert (await api.post("/v1/segments", json=segment)).status_code == 201
            events: list[dict[str, Any]] = [
                {
                    "type": "signup",
                    "contact": {"email": email, "tags": [f"crash-{run}"]},
                    "consent": {"marketing": True},
                }
                for email in [*people, gone]
            ]
            assert (await ingest.post("/v1/events/batch", json={"events": events})).status_code == 202

            async def segment_filled() -> bool:
                return bool((await api.get(f"/v1/segments/crash-{run}")).json()["members"] == PEOPLE + 1)

            await eventually(segment_filled, timeout=60, what="the segment")
            await unsubscribe(ingest, stack, workspace_id, gone)
            broadcast = {"id": f"crash-{run}", "name": "Crash", "templates": [f"crash-{run}"], "per_hour": PER_HOUR,
                         "audience": {"kind": "segment", "segment": f"crash-{run}"}}  # fmt: skip
            assert (await api.post("/v1/broadcasts", json=broadcast)).status_code == 201
            assert (
                await api.post(f"/v1/broadcasts/crash-{run}/schedule", json={"schedule": {"kind": "now"}})
            ).is_success

            async def first_mails() -> bool:
                return inbox.accepted >= 10

            await eventually(first_mails, timeout=30, what="the first mails")
            inbox.open.clear()

            async def mid_conversation() -> bool:
                return inbox.holding >= 1

            await eventually(mid_conversation, timeout=30, what="the sender in the middle of a message")
            progress = (await api.get(f"/v1/broadcasts/crash-{run}")).json()["progress"]
            assert progress["sent"] < PEOPLE, "the scheduler must still have contacts to ask for"
            assert inbox.accepted < PEOPLE
            scheduler.kill()
            sender.kill()

            async def dropped() -> bool:
                return inbox.dropped == inbox.holding

            await eventually(dropped, timeout=30, what="the dead sender's conversations to end unaccepted")
            inbox.open.set()
            await asyncio.gather(scheduler.start(wait=False), sender.start(wait=False))

            async def delivered() -> dict[str, Any] | None:
                """Sent, and the sender's ledger says each message went: none is left to send (again)."""
                try:
                    found: dict[str, Any] = (await api.get(f"/v1/broadcasts/crash-{run}")).json()
                except httpx.HTTPError:
                    return None  # the scheduler is still starting
                went = sum(variant["delivered"] for variant in found.get("funnel", {}).values())
                return found if found["state"] == "sent" and went == PEOPLE else None

            try:
                final = await eventually(delivered, timeout=90, what="every message of the broadcast to go")
            except AssertionError:
                raise AssertionError(f"{scheduler.log()[-2000:]}\n{sender.log()[-2000:]}") from None
    finally:
        smtp.close()
    copies = arrived(inbox, run)
    assert {address: n for address, n in copies.items() if n != 1} == {}
    assert set(copies) == set(people)
    assert final["progress"]["sent"] == PEOPLE and final["progress"]["held"] == {"contact unsubscribed": 1}


def arrived(inbox: Inbox, run: str) -> Counter[str]:
    """Copies in the inbox per recipient of this run."""
    return Counter(address for mail in inbox.mails for address in mail.rcpt_tos if run in address)


async def unsubscribe(ingest: httpx.AsyncClient, stack: RealStack, workspace_id: str, email: str) -> None:
    connection = await asyncpg.connect(stack.database_url)
    try:
        contact_id = await connection.fetchval(
            "SELECT contact_id FROM contacts WHERE workspace_id = $1 AND profile->>'email' = $2", workspace_id, email
        )
    finally:
        await connection.close()
    answer = await ingest.put(f"/v1/contacts/{contact_id}/subscriptions", json={"subscriptions": {"*": False}})
    assert answer.status_code == 200, answer.text
