"""Discount codes on the real database: exactly once per step under racing requests, never one pool code for two
contacts, pools kept per workspace, redemptions counted once, and the import command."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from dripline.coupons_cli import coupons_app
from services.scheduler.adapters.coupons import (
    IssueKey,
    import_codes,
    issue_coupon,
    issued_counts,
    pool_counts,
    record_redemptions,
)
from services.scheduler.domain.coupons import Coupon, CouponRule
from tests.integration.scheduler.conftest import Shop, publish
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPRING = CouponRule(pool="spring")
BACK = CouponRule.model_validate({"generate": {"prefix": "BACK", "expires_in": "14d"}})


@pytest.fixture
async def database(stack: RealStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(stack.database_url, min_size=2, max_size=12)
    try:
        yield pool
    finally:
        await pool.close()


def _workspace() -> str:
    return f"coupons-{uuid.uuid4().hex[:8]}"


def _key(workspace_id: str, contact_id: str, step_id: str = "offer") -> IssueKey:
    return IssueKey(workspace_id, f"enr-{contact_id}", step_id, contact_id, "post-purchase")


async def _issue(database: asyncpg.Pool, key: IssueKey, rule: CouponRule, pause: float = 0) -> Coupon | None:
    """One scheduler transaction issuing a code, held open a moment as a slow request would."""
    async with database.acquire() as connection, connection.transaction():
        coupon = await issue_coupon(connection, key, rule, NOW)
        await asyncio.sleep(pause)
        return coupon


async def _import(database: asyncpg.Pool, workspace_id: str, codes: list[str]) -> None:
    async with database.acquire() as connection:
        await import_codes(connection, workspace_id, "spring", [(code, None) for code in codes])


async def test_two_racing_requests_for_the_same_step_give_the_same_code(database: asyncpg.Pool) -> None:
    workspace_id = _workspace()
    await _import(database, workspace_id, ["SPRING-A", "SPRING-B", "SPRING-C"])
    for rule in (SPRING, BACK):
        key = _key(workspace_id, f"c-{rule.source}")
        first, second = await asyncio.gather(_issue(database, key, rule, 0.2), _issue(database, key, rule, 0.2))
        assert first is not None and first == second
        assert await _issue(database, key, rule) == first  # and a replay, later, the same again
    async with database.acquire() as connection:
        [spring] = await pool_counts(connection, workspace_id)
    assert (spring.total, spring.left) == (3, 2)  # the losing draw put its code back


async def test_a_reminder_shows_the_code_its_step_gave_and_issues_none_of_its_own(database: asyncpg.Pool) -> None:
    workspace_id = _workspace()
    reminder = CouponRule(from_step="offer")
    assert await _issue(database, _key(workspace_id, "c1", "reminder"), reminder) is None  # the offer gave none yet
    offer = await _issue(database, _key(workspace_id, "c1"), BACK)
    assert await _issue(database, _key(workspace_id, "c1", "reminder"), reminder) == offer
    assert await _issue(database, _key(workspace_id, "c2", "reminder"), reminder) is None  # not another's code
    async with database.acquire() as connection:
        assert [(c.step_id, c.issued) for c in await issued_counts(connection, workspace_id)] == [("offer", 1)]


async def test_different_contacts_never_share_a_pool_code_and_an_empty_pool_gives_none(database: asyncpg.Pool) -> None:
    workspace_id = _workspace()
    codes = [f"SPRING-{n:02}" for n in range(12)]
    await _import(database, workspace_id, codes)
    issued = await asyncio.gather(*(_issue(database, _key(workspace_id, f"c{n}"), SPRING, 0.05) for n in range(12)))
    assert sorted(c.code for c in issued if c is not None) == codes
    assert await _issue(database, _key(workspace_id, "c-late"), SPRING) is None
    async with database.acquire() as connection:  # a code past its expiry is never drawn
        await import_codes(connection, workspace_id, "spring", [("SPRING-OLD", NOW - timedelta(days=1))])
    assert await _issue(database, _key(workspace_id, "c-later"), SPRING) is None


async def test_a_workspace_draws_only_from_its_own_pool_and_redemptions_count_once(database: asyncpg.Pool) -> None:
    shop_a, shop_b = _workspace(), _workspace()
    await _import(database, shop_a, ["A-ONLY"])
    assert await _issue(database, _key(shop_b, "c1"), SPRING) is None  # B has no pool "spring", A's is not B's
    coupon = await _issue(database, _key(shop_a, "c1"), SPRING)
    assert coupon == Coupon(code="A-ONLY", pool="spring")
    generated = await _issue(database, _key(shop_b, "c1"), BACK)
    assert generated is not None
    async with database.acquire() as connection:
        # B's purchase naming A's code redeems nothing of A's; A's own purchase does, once however often replayed.
        await record_redemptions(connection, [(shop_b, "c1", "p-b", NOW, ("A-ONLY",))])
        assert [(r.issued, r.redeemed) for r in await issued_counts(connection, shop_a)] == [(1, 0)]
        for _ in range(2):
            await record_redemptions(connection, [(shop_a, "c1", "p-a", NOW, ("A-ONLY", "UNKNOWN"))])
        await record_redemptions(connection, [(shop_a, "c1", "p-later", NOW, ("A-ONLY",))])
        assert [(r.step_id, r.issued, r.redeemed) for r in await issued_counts(connection, shop_a)] == [("offer", 1, 1)]
        event = await connection.fetchval(
            "SELECT redeemed_event_id FROM coupon_issues WHERE workspace_id = $1 AND code = 'A-ONLY'", shop_a
        )
        assert event == "p-a"
        assert [(r.issued, r.redeemed) for r in await issued_counts(connection, shop_b)] == [(1, 0)]


def test_the_import_command_fills_one_workspace_s_pool_and_shows_what_is_left(
    stack: RealStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    shop_a, shop_b = _workspace(), _workspace()
    codes = tmp_path / "spring.csv"
    codes.write_text("code,expires_at\nSPRING-1,2026-06-30T23:59:00+02:00\nSPRING-2,\nSPRING-3,\n")
    runner = CliRunner()
    result = runner.invoke(coupons_app, ["import", "spring", str(codes), "--workspace", shop_a], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "3 new codes in spring, 0 already there." in result.output and "3/3" in result.output
    again = runner.invoke(coupons_app, ["import", "spring", str(codes), "--workspace", shop_a], terminal_width=200)
    assert "0 new codes in spring, 3 already there." in again.output
    listed = runner.invoke(coupons_app, ["pools", "--workspace", shop_b], terminal_width=200)
    assert listed.exit_code == 0 and "spring" not in listed.output  # the import was A's alone

    codes.write_text("code\nSPRING-4\nnot a code\n")
    refused = runner.invoke(coupons_app, ["import", "spring", str(codes), "--workspace", shop_a], terminal_width=200)
    assert refused.exit_code == 1 and f"{codes}:3: 'not a code' is not a code" in refused.output
    listed = runner.invoke(coupons_app, ["pools", "--workspace", shop_a], terminal_width=200)
    assert "│ spring │ 3     │ 0      │ 3    │" in listed.output, listed.output


SPRING_FLOW = """
id: spring-offer
name: Spring offer
triggers:
  - type: event
    event: purchase
steps:
  - id: offer
    type: send
    template: spring-offer
    coupon: {pool: spring}
"""


async def test_the_request_carries_the_pool_code_and_an_empty_pool_fails_the_step_with_its_reason(
    shop: Shop, database: asyncpg.Pool
) -> None:
    await _import(database, shop.workspace_id, ["SPRING-ONLY"])
    async with shop.scheduler() as scheduler:
        await publish(scheduler, SPRING_FLOW)
    for name in ("kari", "ola"):
        email = f"{name}.{uuid.uuid4().hex[:6]}@example.com"
        await shop.signup(email)
        order = {"type": "purchase", "contact": {"email": email}, "order_id": name, "revenue": "10", "currency": "EUR"}
        await shop.event(order)
        if name == "kari":  # one at a time, so the pool's one code goes to Kari
            [request] = await shop.requested(1, timeout=30, where=lambda r: r.get("step_id") == "offer")
            assert request["variables"]["coupon"] == {"code": "SPRING-ONLY"}
    [failed] = await shop.transitions(1, timeout=30, where=lambda r: r.get("kind") == "failed")
    assert (failed["step_id"], failed["reason"]) == (
        "offer",
        "coupon pool 'spring' has no codes left; import more with `dripline coupons import spring FILE`",
    )
    later = await shop.requested(1, settle=1.0, where=lambda r: r.get("step_id") == "offer")
    assert len(later) == 1  # Ola got no email: none with a blank code
