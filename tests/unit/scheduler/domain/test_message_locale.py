"""A message request carries the contact's language when the flow decided to send it."""

from __future__ import annotations

from datetime import UTC, datetime

from services.scheduler.domain import load_flow, start
from tests.unit.scheduler.support import contact

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
FLOW = """
id: hello
name: Hello
category: transactional
triggers: [{type: event, event: signup}]
steps:
  - {id: mail, type: send, template: welcome-hello}
"""


def test_the_request_keeps_the_contacts_locale_then() -> None:
    swedish = contact(attributes={"locale": "sv-SE"})
    [request] = [a for a in start(load_flow(FLOW), swedish, NOW, "e-1").actions if a.kind == "request_message"]
    assert request.locale == "sv-SE"  # type: ignore[union-attr]


def test_without_a_locale_the_request_names_none() -> None:
    [request] = [a for a in start(load_flow(FLOW), contact(), NOW, "e-1").actions if a.kind == "request_message"]
    assert request.locale is None  # type: ignore[union-attr]
