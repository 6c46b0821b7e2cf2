"""Webhooks: the request's variables, rendered for the contact, posted signed to `variables.url`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.sender.adapters.ledger import Settled
from services.sender.adapters.webhooks import WebhookSender
from services.sender.domain.outcome import Attempt
from services.sender.domain.rendering.compliance import Sender
from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.rendering.payload import render_payload
from services.sender.domain.rendering.scope import message_scope
from services.sender.domain.retry_schedule import RetrySchedule
from services.sender.usecases.channels.channel import Fail, Lookups, Skip, settled
from shared.contract.internal import MessageRequested


@dataclass(frozen=True, slots=True)
class WebhookCall:
    url: str
    payload: dict[str, object]


class WebhookChannel:
    def __init__(self, webhooks: WebhookSender, schedule: RetrySchedule, sender: Callable[[str], Sender]) -> None:
        self.webhooks, self.schedule, self.sender = webhooks, schedule, sender

    def plan(self, request: MessageRequested, lookups: Lookups, now: datetime) -> WebhookCall | Skip | Fail:
        url = request.variables.get("url")
        if not isinstance(url, str) or not url:
            return Fail("a webhook request needs variables.url")
        # A notify step's payload is Liquid over the contact and the flow's context (e.g. a call task
        # naming the person, their company and the page they read), like a template's.
        reader = lookups.reader(request)
        scope = message_scope(
            contact_id=request.contact_id, profile=reader.profile if reader is not None else {},
            workspace_id=request.workspace_id, sender=self.sender(request.workspace_id), context=request.context,
            variables=request.variables, workspace_name=lookups.workspace_names.get(request.workspace_id),
        )  # fmt: skip
        data = {key: value for key, value in request.variables.items() if key != "url"}
        try:
            data = render_payload(data, scope)
        except MissingData as missing:
            return Skip(missing.detail)
        except RenderError as error:
            return Fail(str(error))
        payload: dict[str, object] = {
            "message_id": request.event_id,
            "workspace_id": request.workspace_id,
            "contact_id": request.contact_id,
            "template_id": request.template_id,
            "flow_id": request.flow_id,
            "step_id": request.step_id,
            "data": data,
        }
        return WebhookCall(url, payload)

    async def send(self, plan: WebhookCall) -> Attempt:
        return await self.webhooks.send(plan.url, plan.payload)

    async def settle(
        self, request: MessageRequested, attempts: int, result: Attempt, plan: WebhookCall, now: datetime
    ) -> Settled:
        return settled(request.event_id, attempts, result, self.schedule, now)
