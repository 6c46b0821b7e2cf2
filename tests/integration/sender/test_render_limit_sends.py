"""A message whose template passes a render limit fails once with the reason; it is never retried or sent."""

from __future__ import annotations

import uuid

import pytest

from shared.contract.topics import MESSAGES_STATUS
from tests.integration.sender.conftest import WORKSPACE, Sender
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

# Prints a 256 KB string 10,000 times: 2.6 GB unbounded.
BOMB = """id: {id}
category: marketing
subject: "Hello {{{{ contact.first_name }}}}"
html: |
  <html><body>{{% assign s = 'ab' %}}{{% for i in (1..16) %}}{{% assign s = s | append: s %}}{{% endfor %}}
  {{% for i in (1..100) %}}{{% for j in (1..100) %}}{{{{ s }}}}{{% endfor %}}{{% endfor %}}</body></html>
"""


async def test_a_message_past_the_output_limit_fails_with_the_reason_and_is_not_retried(
    sender: Sender, stack: RealStack
) -> None:
    template_id = f"bomb-{uuid.uuid4().hex[:8]}"
    await sender.runtime.templates.publish(WORKSPACE, BOMB.format(id=template_id))
    email = f"bomb.{uuid.uuid4().hex[:8]}@example.com"
    request = await sender.request(await sender.contact(email=email, first_name="Kari"), template_id)

    row = await sender.settled(request.event_id, "failed")
    assert "output limit reached: a template may print at most 2,000,000 characters" in row["last_reply"]
    assert row["attempts"] <= 1
    assert sender.mails_to(email) == []
    [status] = await read_topic(stack, MESSAGES_STATUS, count=1, where=lambda r: r["message_id"] == request.event_id)
    assert status["status"] == "failed"
