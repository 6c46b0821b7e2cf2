"""Text messages: the template's text part for the reader's phone, through the SMS provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.sender.adapters.ledger import Settled
from services.sender.adapters.sms import SmsProvider
from services.sender.domain.outcome import Attempt
from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.rendering.scope import message_scope
from services.sender.domain.retry_schedule import RetrySchedule
from services.sender.usecases.channels.channel import Eligible, Fail, Lookups, Skip, eligible, settled
from services.sender.usecases.mail import MailComposer
from shared.contract.internal import MessageRequested


@dataclass(frozen=True, slots=True)
class TextMessage:
    phone: str
    body: str


class SmsChannel:
    def __init__(self, composer: MailComposer, provider: SmsProvider, schedule: RetrySchedule) -> None:
        self.composer, self.provider, self.schedule = composer, provider, schedule

    def plan(self, request: MessageRequested, lookups: Lookups, now: datetime) -> TextMessage | Skip | Fail:
        found = eligible(request, lookups)
        if not isinstance(found, Eligible):
            return found
        scope = message_scope(
            contact_id=request.contact_id, profile=found.reader.profile, workspace_id=request.workspace_id,
            sender=self.composer.sender(request.workspace_id), context=request.context, variables=request.variables,
            workspace_name=lookups.workspace_names.get(request.workspace_id),
        )  # fmt: skip
        try:
            return TextMessage(found.address, self.composer.text_message(found.template, scope))
        except MissingData as missing:
            return Skip(missing.detail)
        except RenderError as error:
            return Fail(str(error))

    async def send(self, plan: TextMessage) -> Attempt:
        return await self.provider.send(plan.phone, plan.body)

    async def settle(
        self, request: MessageRequested, attempts: int, result: Attempt, plan: TextMessage, now: datetime
    ) -> Settled:
        return settled(request.event_id, attempts, result, self.schedule, now)
