"""Post-purchase on the real stack: after a first order the customer gets the thank-you, then an email with a
discount code of their own and a reminder of it; the same step asked again gives the same code, and the next
order that uses it is counted as a redemption."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from dripline.devstack.inbox import ReceivedMail
from services.scheduler.adapters.coupons import IssueKey, issue_coupon, issued_counts
from services.scheduler.domain.coupons import ALPHABET, CouponRule
from shared.contract.topics import MESSAGES_REQUESTED
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES, eventually
from tests.support.golden import quick_copy
from tests.support.stack import RealStack
from tests.support.system import System, running_system
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack
CODE = re.compile(rf"\bBACK-[{ALPHABET}]{{10}}\b")


@pytest.fixture(scope="module")
async def system(stack: RealStack) -> AsyncIterator[System]:
    async with running_system(stack, "postpurchase") as running:
        for template in ("purchase-thanks", "repeat-offer", "repeat-reminder"):
            await running.sender.runtime.templates.publish(
                running.workspace_id, (EXAMPLES / f"{template}.yaml").read_text()
            )
        await publish(running.scheduler, quick_copy("post-purchase", "http://127.0.0.1:9/hooks"))
        yield running


async def _three(found: list[ReceivedMail]) -> list[ReceivedMail] | None:
    return found if len(found) >= 3 else None


async def test_a_first_order_brings_a_code_of_their_own_the_same_on_a_replay_and_redeemed_by_the_next(
    system: System,
) -> None:
    email = f"per.{uuid.uuid4().hex[:8]}@example.com"
    consent = {"marketing": True, "topics": ["shop-offers"]}
    signup = {"type": "signup", "contact": {"email": email, "first_name": "Per", "locale": "nb"}, "consent": consent}
    assert (await system.ingest.post("/v1/events", json=signup)).status_code == 202
    order = {"type": "purchase", "contact": {"email": email}, "order_id": "o-1", "revenue": "499", "currency": "NOK"}
    assert (await system.ingest.post("/v1/events", json=order)).status_code == 202

    mails = await eventually(lambda: _three(system.sender.mails_to(email)), timeout=40, what="the three emails")
    thanks, offer, reminder = sorted(mails, key=lambda mail: mail.id)
    assert thanks.subject == "Hvordan liker du de nye tingene dine?"
    assert offer.subject == "En kode til neste bestilling, Per"
    plain = (offer.part("plain") or "").replace("\r\n", "\n")
    [code] = set(CODE.findall(plain))  # in the preheader and the body
    assert f"{code}\n\nSkriv den inn i kassen før " in plain
    assert code in (offer.part("html") or "") and CODE.findall(thanks.part("plain") or "") == []
    assert set(CODE.findall(reminder.part("plain") or "")) == {code}  # the reminder shows the same code
    assert reminder.subject == "Fire dager igjen på rabattkoden din på 15 %"

    [request] = await read_topic(
        system.stack, MESSAGES_REQUESTED, count=1,
        where=lambda r: r.get("workspace_id") == system.workspace_id and r.get("step_id") == "come-back",
    )  # fmt: skip
    assert request["variables"]["coupon"]["code"] == code  # frozen into the request: a retry renders the same

    connection = await asyncpg.connect(system.stack.database_url)
    try:
        issued = await connection.fetchrow(
            "SELECT enrollment_id, contact_id FROM coupon_issues WHERE workspace_id = $1 AND code = $2",
            system.workspace_id, code,
        )  # fmt: skip
        assert issued is not None
        key = IssueKey(system.workspace_id, issued["enrollment_id"], "come-back", issued["contact_id"], "post-purchase")
        rule = CouponRule.model_validate({"generate": {"prefix": "BACK", "expires_in": "14d"}})
        async with connection.transaction():  # the scheduler asking again for the same step, as a replay does
            again = await issue_coupon(connection, key, rule, datetime.now(UTC))
        assert again is not None and again.code == code

        second = {**order, "order_id": "o-2", "discount_codes": [code]}
        assert (await system.ingest.post("/v1/events", json=second)).status_code == 202

        async def redeemed() -> list[tuple[str, int, int]] | None:
            counts = [(c.step_id, c.issued, c.redeemed) for c in await issued_counts(connection, system.workspace_id)]
            return counts if counts and counts[0][2] == 1 else None

        assert await eventually(redeemed, timeout=20, what="the redemption") == [("come-back", 1, 1)]
    finally:
        await connection.close()
