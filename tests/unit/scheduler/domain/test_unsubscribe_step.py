"""An update_contact step's `unsubscribe`: the action the effects write to the ledger, and later steps of the
same walk see the contact unsubscribed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.scheduler.domain import FlowInvalid, UpdateContact, load_flow, start
from services.scheduler.domain.steps import Unsubscribe
from tests.unit.scheduler.support import contact

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
SUBSCRIBED = {"*": "subscribed", "offers": "subscribed", "news": "subscribed"}


def _flow(unsubscribe: str) -> str:
    return f"""
id: f
name: F
topic: offers
triggers: [{{type: api}}]
steps:
  - {{id: sunset, type: update_contact, unsubscribe: {unsubscribe}}}
  - {{id: after, type: send, template: t}}
"""


def test_unsubscribing_from_marketing_asks_for_the_ledger_entry_and_the_marketing_flow_ends_there() -> None:
    decision = start(load_flow(_flow("{reason: sunset}")), contact(subscriptions=SUBSCRIBED), NOW, "e-1")
    [update] = [a for a in decision.actions if isinstance(a, UpdateContact)]
    assert update.unsubscribe == Unsubscribe(reason="sunset")
    assert decision.messages == []
    assert (decision.transitions[-1].event, decision.transitions[-1].reason) == ("exited", "contact unsubscribed")


def test_unsubscribing_from_another_topic_leaves_this_flows_mail_alone() -> None:
    decision = start(load_flow(_flow("{topic: news, reason: sunset}")), contact(subscriptions=SUBSCRIBED), NOW, "e-1")
    assert [m.step_id for m in decision.messages] == ["after"]
    offers = start(load_flow(_flow("{topic: offers, reason: quiet}")), contact(subscriptions=SUBSCRIBED), NOW, "e-2")
    assert offers.messages == []


@pytest.mark.parametrize("unsubscribe", ["{}", "{reason: 'Not A Reason'}", "{reason: sunset, scope: all}"])
def test_an_unsubscribe_needs_a_plain_reason_and_nothing_else(unsubscribe: str) -> None:
    with pytest.raises(FlowInvalid):
        load_flow(_flow(unsubscribe))
