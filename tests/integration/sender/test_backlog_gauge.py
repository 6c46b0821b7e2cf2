"""The delivery backlog gauge reads the send ledger: the age of the oldest message claimed but not attempted."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from services.sender.workers.ledger_watch import LedgerWatch
from tests.integration.sender.conftest import WORKSPACE, Sender

pytestmark = pytest.mark.stack


async def test_a_message_stuck_in_claimed_shows_as_the_oldest_claimed_age(sender: Sender) -> None:
    message_id = f"m-stuck-{uuid.uuid4().hex[:8]}"
    await sender.db.execute(
        "INSERT INTO send_ledger (message_id, workspace_id, contact_id, channel, category, template_id, state, "
        "request, created_at) VALUES ($1, $2, 'c-stuck', 'email', 'marketing', 'welcome-hello', 'claimed', '{}', "
        "now() - interval '10 minutes')",
        message_id,
        WORKSPACE,
    )
    try:
        age = await LedgerWatch(sender.db).refresh()
        assert REGISTRY.get_sample_value("dripline_sender_oldest_claimed_seconds") == age  # before any await
    finally:
        await sender.db.execute("DELETE FROM send_ledger WHERE message_id = $1", message_id)
    assert age >= 600
