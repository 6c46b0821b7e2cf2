"""A delivered email prints the reader's customer facts as the scheduler keeps them, read at send time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.sender.conftest import WORKSPACE, Sender

pytestmark = pytest.mark.stack

TEMPLATE = """
id: facts-thanks
category: marketing
locale: en
subject: "Order number {{ contact.facts.order_count | plus: 1 }} is on us"
html: |
  <p>Hi {{ contact.first_name }}, you have ordered {{ contact.facts.order_count }} times
  ({{ contact.facts.total_spent.NOK }} NOK). Last time:
  {% for product in contact.facts.last_order_products %}{{ product.name }}{% endfor %}.</p>
  <p>Engagement: {{ contact.facts.engagement }}.</p>
"""


async def _buyer(sender: Sender, email: str) -> str:
    """Kari, with two orders and a recent open in her customer facts (as the scheduler folded them)."""
    contact = await sender.contact(email=email, first_name="Kari")
    await sender.db.execute(
        "INSERT INTO contact_facts (workspace_id, contact_id, first_purchase_at, last_purchase_at, order_count, spent, "
        "last_order_products, last_open_at) VALUES ($1, $2, $3, $3, 2, $4::jsonb, $5::jsonb, $6)",
        WORKSPACE,
        contact,
        datetime.now(UTC) - timedelta(days=60),
        '{"NOK": {"total": "900", "orders": 2}}',
        '[{"product_id": "p-1", "name": "Wool socks"}]',
        datetime.now(UTC) - timedelta(days=2),
    )
    return contact


async def test_an_email_prints_the_readers_order_count_spend_and_last_products(sender: Sender) -> None:
    await sender.runtime.templates.publish(WORKSPACE, TEMPLATE)
    email = f"facts-{uuid.uuid4().hex[:8]}@example.com"
    contact = await _buyer(sender, email)
    request = await sender.request(contact, "facts-thanks")
    await sender.settled(request.event_id, "sent")
    [mail] = sender.mails_to(email)
    assert mail.subject == "Order number 3 is on us"
    text = " ".join((mail.part("plain") or "").split())
    assert "you have ordered 2 times (900.0 NOK). Last time: Wool socks." in text
    assert "Engagement: engaged." in text


async def test_a_reader_without_a_purchase_gets_no_email_that_prints_their_spend(sender: Sender) -> None:
    """A fact never recorded is missing, not blank: the message is not sent as "(  NOK)"."""
    await sender.runtime.templates.publish(WORKSPACE, TEMPLATE)
    email = f"nofacts-{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=email, first_name="Ola")
    request = await sender.request(contact, "facts-thanks")
    row = await sender.settled(request.event_id, "suppressed")
    assert "contact.facts.total_spent.NOK" in row["last_reply"]
    assert sender.mails_to(email) == []


async def test_a_preview_for_a_stored_contact_prints_their_facts(sender: Sender) -> None:
    await sender.runtime.templates.publish(WORKSPACE, TEMPLATE)
    contact = await _buyer(sender, f"preview-{uuid.uuid4().hex[:8]}@example.com")
    async with sender.client() as api:
        preview = await api.post("/v1/templates/facts-thanks/preview", json={"contact_id": contact})
    assert preview.status_code == 200, preview.text
    assert preview.json()["subject"] == "Order number 3 is on us"
    assert "Wool socks" in preview.json()["text"]
