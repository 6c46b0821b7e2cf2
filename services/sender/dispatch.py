"""One message from request to outcome: claim, check the audience, render, deliver, record, report.

Only the caller that claims a message (or takes it back from the retry loop) attempts it,
so replays of `messages.requested` are dropped at the claim.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from services.sender.adapters.audience import Audience, Reader
from services.sender.adapters.ledger import LedgerEntry, SendLedger
from services.sender.adapters.sms import SmsProvider
from services.sender.adapters.smtp import SmtpRelay
from services.sender.adapters.templates import TemplateStore
from services.sender.adapters.webhooks import WebhookSender
from services.sender.domain.errors import RenderError, TemplateError
from services.sender.domain.payload import render_payload
from services.sender.domain.smtp_outcome import Outcome, RetrySchedule, classify_smtp_reply
from services.sender.domain.template import Category, Template
from services.sender.mail import MailComposer
from services.sender.outcome import Attempt
from services.sender.statuses import StatusReporter
from shared.contract.internal import MessageRequested
from shared.errors import Transient
from shared.identity import IdentifierKind
from shared.kafka.consumer import Incoming

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Skip:
    """Not sent, on purpose: suppressed, unsubscribed, erased or no address."""

    reason: str


@dataclass(frozen=True)
class Fail:
    """Cannot be sent as asked: no such template, or it does not render for this reader."""

    reason: str


@dataclass(frozen=True)
class Ready:
    send: Callable[[], Awaitable[Attempt]]
    address: tuple[IdentifierKind, str] | None = None  # suppressed when it hard-bounces


Plan = Skip | Fail | Ready


@dataclass
class Channels:
    relay: SmtpRelay
    sms: SmsProvider
    webhooks: WebhookSender


class Dispatcher:
    def __init__(
        self,
        *,
        ledger: SendLedger,
        audience: Audience,
        templates: TemplateStore,
        composer: MailComposer,
        channels: Channels,
        reporter: StatusReporter,
        schedule: RetrySchedule,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger, self.audience, self.templates = ledger, audience, templates
        self.composer, self.channels, self.reporter = composer, channels, reporter
        self._schedule, self._clock = schedule, clock
        self._loaded: dict[tuple[str, str, int], Template] = {}

    async def handle(self, batch: list[Incoming]) -> None:
        """The consumer's handler: every request of the batch at once (the SMTP relay caps concurrency)."""
        requests = [item.value for item in batch if isinstance(item.value, MessageRequested)]
        outcomes = await asyncio.gather(*(self.request(request) for request in requests), return_exceptions=True)
        finals = [outcome for outcome in outcomes if isinstance(outcome, LedgerEntry)]
        # One status publish for the whole batch; anything not reported is picked up by the retry loop.
        await self.reporter.report(finals)
        for outcome in outcomes:
            if isinstance(outcome, asyncpg.PostgresError | OSError):
                raise Transient(f"database unavailable: {outcome!r}") from outcome
            if isinstance(outcome, BaseException):
                raise outcome

    async def request(self, request: MessageRequested) -> LedgerEntry | None:
        entry = await self.ledger.claim(request)
        if entry is None:
            log.debug("message.replayed", message_id=request.event_id)
            return None
        return await self.try_once(entry)

    async def attempt(self, entry: LedgerEntry) -> None:
        """Try a claimed message once, record what became of it, and report it."""
        await self.reporter.report([await self.try_once(entry)])

    async def try_once(self, entry: LedgerEntry) -> LedgerEntry:
        """Try a claimed message once and record what became of it in the ledger (not yet reported)."""
        plan = await self._plan(entry.request)
        match plan:
            case Skip(reason):
                final = await self.ledger.finish(entry.message_id, "suppressed", reason)
            case Fail(reason):
                final = await self.ledger.finish(entry.message_id, "failed", reason)
            case Ready():
                attempts = await self.ledger.start_attempt(entry.message_id)
                result = await plan.send()
                final = await self._settle(entry.request, attempts, result, plan)
        log.info("message.outcome", message_id=entry.message_id, state=final.state, attempt=final.attempts)
        return final

    async def _settle(self, request: MessageRequested, attempts: int, result: Attempt, plan: Ready) -> LedgerEntry:
        message_id = request.event_id
        match result.outcome:
            case Outcome.SENT:
                return await self.ledger.finish(message_id, "sent", result.detail)
            case Outcome.DEFERRED:
                retry_at = self._schedule.next_attempt(attempts, self._clock())
                if retry_at is None:
                    return await self.ledger.finish(message_id, "failed", f"gave up after {attempts}: {result.detail}")
                return await self.ledger.finish(message_id, "deferred", result.detail, retry_at)
            case Outcome.BOUNCED_HARD:
                if plan.address is not None:
                    kind, address = plan.address
                    await self.audience.suppress(
                        request.workspace_id, kind, address, reason="bounced", source=f"message:{message_id}"
                    )
                return await self.ledger.finish(message_id, "bounced", result.detail)
            case _:
                return await self.ledger.finish(message_id, "failed", result.detail)

    async def _plan(self, request: MessageRequested) -> Plan:
        match request.channel:
            case "email":
                return await self._plan_email(request)
            case "sms":
                return await self._plan_sms(request)
            case "webhook":
                return await self._plan_webhook(request)

    async def _template(self, request: MessageRequested) -> Template | Fail:
        stored = await self.templates.latest(request.workspace_id, request.template_id)
        if stored is None:
            return Fail(f"no template {request.template_id!r}")
        key = (request.workspace_id, stored.template_id, stored.version)
        loaded = self._loaded.get(key)
        if loaded is None:
            try:
                loaded = stored.load()  # YAML parsing: once per template version, not per message
            except TemplateError as error:
                return Fail(str(error))
            if len(self._loaded) > 1024:
                self._loaded.clear()
            self._loaded[key] = loaded
        return loaded

    async def _reader(
        self, request: MessageRequested, kind: IdentifierKind, field: str
    ) -> tuple[Reader, str, Template] | Plan:
        """The reader, their address and the template, or why not to send."""
        reader = await self.audience.reader(request.workspace_id, request.contact_id)
        if reader is None:
            return Skip("contact unknown or erased")
        address = reader.profile.get(field)
        if not address:
            return Skip(f"contact has no {field}")
        template = await self._template(request)
        if isinstance(template, Fail):
            return template
        marketing = request.category == "marketing" or template.category is Category.MARKETING
        if await self.audience.suppressed(request.workspace_id, kind, str(address), marketing=marketing):
            return Skip(f"{field} suppressed" + (" for marketing" if marketing else ""))
        if marketing:
            missing = reader.lacks_consent(request.topic)
            if missing:
                return Skip(missing)
        return reader, str(address), template

    async def _plan_email(self, request: MessageRequested) -> Plan:
        reader = await self._reader(request, "email", "email")
        if not isinstance(reader, tuple):
            return reader
        person, address, template = reader
        now = self._clock()
        try:
            letter = self.composer.render(
                template,
                message_id=request.event_id,
                workspace_id=request.workspace_id,
                contact_id=request.contact_id,
                profile=person.profile,
                variables=request.variables,
                now=now,
                flow_id=request.flow_id,
                step_id=request.step_id,
                consent=person.consent,
            )
        except RenderError as error:
            return Fail(str(error))
        data = self.composer.message_bytes(letter, message_id=request.event_id, now=now)

        async def send() -> Attempt:
            reply = await self.channels.relay.send(self.composer.from_address, address, data)
            verdict = classify_smtp_reply(reply.code, reply.message)
            return Attempt(verdict.outcome, verdict.reason)

        return Ready(send, ("email", address))

    async def _plan_sms(self, request: MessageRequested) -> Plan:
        reader = await self._reader(request, "phone", "phone")
        if not isinstance(reader, tuple):
            return reader
        person, phone, template = reader
        scope = {"contact": person.profile, "workspace": {"id": request.workspace_id}, **request.variables}
        try:
            body = self.composer.text_message(template, scope)
        except RenderError as error:
            return Fail(str(error))
        return Ready(lambda: self.channels.sms.send(phone, body))

    async def _plan_webhook(self, request: MessageRequested) -> Plan:
        url = request.variables.get("url")
        if not isinstance(url, str) or not url:
            return Fail("a webhook request needs variables.url")
        # A notify step's payload is Liquid over the contact (e.g. a call task naming the person).
        profile = await self.audience.profile(request.workspace_id, request.contact_id) or {}
        scope = {"contact": profile, "workspace": {"id": request.workspace_id}, **request.variables}
        data = {key: value for key, value in request.variables.items() if key != "url"}
        try:
            data = render_payload(data, scope)
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
        return Ready(lambda: self.channels.webhooks.send(url, payload))
