"""Messages from request to outcome, a consumed batch at a time: claim, check the audience,
render, deliver, record, report.

Only the caller that claims a message (or takes it back from the retry loop) attempts it,
so replays of `messages.requested` are dropped at the claim. A batch goes in chunks; every
database step takes a whole chunk in one statement, and the sends run concurrently (the SMTP
relay caps them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import structlog

from services.sender.adapters.audience import AddressKey, Audience, ContactKey
from services.sender.adapters.ledger import LedgerEntry, SendLedger, Settled
from services.sender.adapters.sms import SmsProvider
from services.sender.adapters.smtp import SmtpRelay
from services.sender.adapters.templates import StoredTemplate, TemplateStore
from services.sender.adapters.webhooks import WebhookSender
from services.sender.domain.eligibility import Reader, address_of, blocked, unreachable
from services.sender.domain.errors import RenderError, TemplateError
from services.sender.domain.payload import render_payload
from services.sender.domain.smtp_outcome import Outcome, RetrySchedule, classify_smtp_reply
from services.sender.domain.template import Category, Template
from services.sender.leases import Leases
from services.sender.mail import MailComposer
from services.sender.outcome import Attempt
from services.sender.statuses import StatusReporter
from shared.contract.internal import MessageRequested
from shared.errors import Transient
from shared.group_writer import GroupWriter
from shared.identity import IdentifierKind
from shared.kafka.consumer import Incoming

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

# Messages read, rendered and recorded together: small enough that sending one chunk overlaps
# preparing the next, large enough that each database step stays one statement for many.
CHUNK = 64

# The profile field that holds each channel's address.
ADDRESS_FIELDS: dict[str, IdentifierKind] = {"email": "email", "sms": "phone"}


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


@dataclass(frozen=True)
class Lookups:
    """What a batch of requests needs from the database, read in a fixed handful of queries."""

    readers: dict[ContactKey, Reader]
    templates: dict[tuple[str, str], Template | Fail]
    suppressions: dict[AddressKey, frozenset[str]]


async def _in_chunks(items: list[T], attempt: Callable[[list[T]], Awaitable[None]]) -> None:
    """`attempt` each chunk of `items`, two chunks at a time; every chunk runs, then the first error is raised."""
    in_flight = asyncio.Semaphore(2)

    async def one(chunk: list[T]) -> None:
        async with in_flight:
            await attempt(chunk)

    chunks = [items[n : n + CHUNK] for n in range(0, len(items), CHUNK)]
    outcomes = await asyncio.gather(*(one(chunk) for chunk in chunks), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


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
        stale_after_seconds: float = 300.0,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger, self.audience, self.templates = ledger, audience, templates
        self.composer, self.channels, self.reporter = composer, channels, reporter
        self._schedule, self._clock = schedule, clock
        self._loaded: dict[tuple[str, str, int], Template] = {}
        self.leases = Leases(ledger, stale_after_seconds=stale_after_seconds)

    async def handle(self, batch: list[Incoming]) -> None:
        """The consumer's handler: claim the batch's requests and try the claimed ones once.

        The batch goes in chunks, two at a time: one chunk is claimed, read and rendered while the one
        before it is on the SMTP connections, so they do not sit idle between batches. A chunk is
        claimed only when its turn comes, so no claimed message waits behind a long batch."""
        requests = [item.value for item in batch if isinstance(item.value, MessageRequested)]

        async def attempt(chunk: list[MessageRequested]) -> None:
            claimed = await self.ledger.claim_all(chunk)
            if len(claimed) < len(chunk):
                log.debug("message.replayed", count=len(chunk) - len(claimed))
            await self.reporter.report(await self.try_all(claimed))

        try:
            await _in_chunks(requests, attempt)
        except (asyncpg.PostgresError, OSError) as error:
            # The batch is consumed again; what was claimed already is the retry loop's (stale-send rule).
            raise Transient(f"database unavailable: {error!r}") from error

    async def attempt_all(self, entries: list[LedgerEntry]) -> None:
        """Try messages claimed elsewhere (the retry loop) once, record and report the outcomes.

        Anything not reported (the broker was away) is picked up by the retry loop."""

        async def attempt(chunk: list[LedgerEntry]) -> None:
            await self.reporter.report(await self.try_all(chunk))

        await _in_chunks(entries, attempt)

    async def try_all(self, entries: list[LedgerEntry]) -> list[LedgerEntry]:
        """Try claimed messages once and record their outcomes in the ledger (not yet reported)."""
        if not entries:
            return []
        held = [entry.message_id for entry in entries]
        self.leases.hold(held)
        try:
            return await self._try_held(entries)
        finally:
            self.leases.release(held)

    async def _try_held(self, entries: list[LedgerEntry]) -> list[LedgerEntry]:
        requests = {entry.message_id: entry.request for entry in entries}
        lookups = await self._look_up([entry.request for entry in entries])
        settled: list[Settled] = []
        ready: list[tuple[LedgerEntry, Ready]] = []
        for entry in entries:
            match self._plan(entry.request, lookups):
                case Skip(reason):
                    settled.append(Settled(entry.message_id, "suppressed", reason))
                case Fail(reason):
                    settled.append(Settled(entry.message_id, "failed", reason))
                case Ready() as plan:
                    ready.append((entry, plan))
            # Rendering is CPU work: let the chunk on the connections read its replies in between.
            await asyncio.sleep(0)
        attempts = await self.ledger.start_attempts([entry.message_id for entry, _ in ready])
        # Outcomes are recorded as sends complete, a group per write: the window between an SMTP 250
        # and the ledger saying `sent` stays one write long, not as long as the batch's slowest send.
        recorder: GroupWriter[Settled, LedgerEntry] = GroupWriter(lambda group: self.ledger.finish_all(group, requests))
        for outcome in settled:
            recorder.add(outcome)

        async def send(entry: LedgerEntry, plan: Ready) -> None:
            try:
                result = await plan.send()
            except Exception as error:  # noqa: BLE001 - one message's crash must not lose the batch's outcomes
                # Left `sending`: the stale-send rule tries it again.
                log.error("message.send_crashed", message_id=entry.message_id, error=repr(error))
                return
            recorder.add(await self._settle(entry.request, attempts[entry.message_id], result, plan))

        await asyncio.gather(*(send(entry, plan) for entry, plan in ready))
        finals = await recorder.close()
        for final in finals:
            log.info("message.outcome", message_id=final.message_id, state=final.state, attempt=final.attempts)
        return finals

    async def _settle(self, request: MessageRequested, attempts: int, result: Attempt, plan: Ready) -> Settled:
        message_id = request.event_id
        match result.outcome:
            case Outcome.SENT:
                return Settled(message_id, "sent", result.detail)
            case Outcome.DEFERRED:
                retry_at = self._schedule.next_attempt(attempts, self._clock())
                if retry_at is None:
                    return Settled(message_id, "failed", f"gave up after {attempts}: {result.detail}")
                return Settled(message_id, "deferred", result.detail, retry_at)
            case Outcome.BOUNCED_HARD:
                if plan.address is not None:
                    kind, address = plan.address
                    await self.audience.suppress(
                        request.workspace_id, kind, address, reason="bounced", source=f"message:{message_id}"
                    )
                return Settled(message_id, "bounced", result.detail)
            case _:
                return Settled(message_id, "failed", result.detail)

    async def _look_up(self, requests: list[MessageRequested]) -> Lookups:
        """Readers and templates of the whole batch, then the suppressions of their addresses."""
        contacts = list(dict.fromkeys((r.workspace_id, r.contact_id) for r in requests))
        wanted = list(dict.fromkeys((r.workspace_id, r.template_id) for r in requests if r.channel in ADDRESS_FIELDS))
        readers, stored = await asyncio.gather(self.audience.readers(contacts), self.templates.latest_many(wanted))
        templates = {key: self._loaded_template(key, stored.get(key)) for key in wanted}
        addresses: list[AddressKey] = []
        for r in requests:
            kind = ADDRESS_FIELDS.get(r.channel)
            address = address_of(readers.get((r.workspace_id, r.contact_id)), kind) if kind else None
            if kind and address:
                addresses.append((r.workspace_id, kind, address))
        suppressions = await self.audience.suppression_scopes(list(dict.fromkeys(addresses)))
        return Lookups(readers, templates, suppressions)

    def _loaded_template(self, key: tuple[str, str], stored: StoredTemplate | None) -> Template | Fail:
        if stored is None:
            return Fail(f"no template {key[1]!r}")
        cache_key = (key[0], stored.template_id, stored.version)
        loaded = self._loaded.get(cache_key)
        if loaded is None:
            try:
                loaded = stored.load()  # YAML parsing: once per template version, not per message
            except TemplateError as error:
                return Fail(str(error))
            if len(self._loaded) > 1024:
                self._loaded.clear()
            self._loaded[cache_key] = loaded
        return loaded

    def _plan(self, request: MessageRequested, lookups: Lookups) -> Plan:
        match request.channel:
            case "email":
                return self._plan_email(request, lookups)
            case "sms":
                return self._plan_sms(request, lookups)
            case "webhook":
                return self._plan_webhook(request, lookups)

    def _eligible(self, request: MessageRequested, lookups: Lookups) -> tuple[Reader, str, Template] | Plan:
        """The reader, their address and the template, or why not to send."""
        kind = ADDRESS_FIELDS[request.channel]
        reader = lookups.readers.get((request.workspace_id, request.contact_id))
        why = unreachable(reader, kind)
        if why is not None:
            return Skip(why)
        assert reader is not None  # unreachable() names a missing reader
        template = lookups.templates[(request.workspace_id, request.template_id)]
        if isinstance(template, Fail):
            return template
        address = str(address_of(reader, kind))
        marketing = request.category == "marketing" or template.category is Category.MARKETING
        scopes = lookups.suppressions.get((request.workspace_id, kind, address), frozenset())
        why = blocked(reader, kind, marketing=marketing, topic=request.topic, suppression_scopes=scopes)
        if why is not None:
            return Skip(why)
        return reader, address, template

    def _plan_email(self, request: MessageRequested, lookups: Lookups) -> Plan:
        eligible = self._eligible(request, lookups)
        if not isinstance(eligible, tuple):
            return eligible
        person, address, template = eligible
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

    def _plan_sms(self, request: MessageRequested, lookups: Lookups) -> Plan:
        eligible = self._eligible(request, lookups)
        if not isinstance(eligible, tuple):
            return eligible
        person, phone, template = eligible
        scope = {"contact": person.profile, "workspace": {"id": request.workspace_id}, **request.variables}
        try:
            body = self.composer.text_message(template, scope)
        except RenderError as error:
            return Fail(str(error))
        return Ready(lambda: self.channels.sms.send(phone, body))

    def _plan_webhook(self, request: MessageRequested, lookups: Lookups) -> Plan:
        url = request.variables.get("url")
        if not isinstance(url, str) or not url:
            return Fail("a webhook request needs variables.url")
        # A notify step's payload is Liquid over the contact (e.g. a call task naming the person).
        reader = lookups.readers.get((request.workspace_id, request.contact_id))
        profile = reader.profile if reader is not None else {}
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
