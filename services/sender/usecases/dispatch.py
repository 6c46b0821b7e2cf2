"""Messages from request to outcome, a consumed batch at a time: claim, read, plan, deliver, record, report.

Only the caller that claims a message (or takes it back from the retry loop) attempts it,
so replays of `messages.requested` are dropped at the claim. A batch is claimed in one statement,
then goes in chunks; every other database step takes a whole chunk in one statement (outcomes a
group of sends at a time), and the sends run concurrently (the SMTP relay caps them). What each
channel does with its message lives in `channels/`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import structlog

from services.sender.adapters.audience import Audience
from services.sender.adapters.domain_pacing import DomainPacing
from services.sender.adapters.ledger import LedgerEntry, SendLedger, Settled
from services.sender.adapters.sms import SmsProvider
from services.sender.adapters.smtp import SmtpRelay
from services.sender.adapters.templates import TemplateStore
from services.sender.adapters.webhooks import WebhookSender
from services.sender.domain.retry_schedule import RetrySchedule
from services.sender.usecases.channels.channel import Channel, Fail, Hold, Lookups, Skip
from services.sender.usecases.channels.email import Email, EmailChannel, Warmup
from services.sender.usecases.channels.sms import SmsChannel
from services.sender.usecases.channels.webhook import WebhookChannel
from services.sender.usecases.delivery_metrics import RENDER_SECONDS, count_outcomes
from services.sender.usecases.lookups import BatchLookup
from services.sender.usecases.mail import MailComposer
from services.sender.usecases.statuses import StatusReporter
from services.sender.workers.leases import Leases
from shared.contract.internal import MessageRequested
from shared.errors import Permanent, Transient
from shared.group_writer import GroupWriter
from shared.kafka.consumer import Incoming
from shared.sending_identities import SendingIdentityStore

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

# Messages read, rendered and recorded together: small enough that sending one chunk overlaps
# preparing the next, large enough that each database step stays one statement for many.
CHUNK = 64
# A crash's reason is kept short: it goes to the ledger and to the contact's timeline.
_REASON_CHARS = 500


@dataclass
class Channels:
    """The delivery adapters, as the runtime builds them."""

    relay: SmtpRelay  # the SMTP settings' relay (test sends go straight to it)
    sms: SmsProvider
    webhooks: WebhookSender
    pacing: DomainPacing  # email by receiving-domain group, over `relay` or a group's own


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


def _crash_reason(what: str, error: Exception) -> str:
    return f"{what}: {type(error).__name__}: {error}"[:_REASON_CHARS]


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
        identities: SendingIdentityStore,
        warmup: Warmup | None = None,
        stale_after_seconds: float = 300.0,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger, self.audience, self.templates = ledger, audience, templates
        self.composer, self.channels, self.reporter = composer, channels, reporter
        self._clock = clock
        self.lookup = BatchLookup(audience, templates, identities)
        self.email = EmailChannel(composer, channels.pacing, audience, schedule, warmup)
        self.sms = SmsChannel(composer, channels.sms, schedule)
        self.webhook = WebhookChannel(channels.webhooks, schedule, composer.sender)
        self._routes: dict[str, Channel[Any]] = {"email": self.email, "sms": self.sms, "webhook": self.webhook}
        self.leases = Leases(ledger, stale_after_seconds=stale_after_seconds)

    async def handle(self, batch: list[Incoming]) -> None:
        """The consumer's handler: claim the batch's requests in one statement and try the claimed ones once.

        The claimed messages go in chunks, two at a time: one chunk is read and rendered while the one
        before it is on the SMTP connections, so they do not sit idle between batches. Every claimed
        message is held from its claim on, so none waiting behind a slow chunk counts as abandoned."""
        requests = [item.value for item in batch if isinstance(item.value, MessageRequested)]
        try:
            claimed = await self.ledger.claim_all(requests)
            if len(claimed) < len(requests):
                log.debug("message.replayed", count=len(requests) - len(claimed))
            held = [entry.message_id for entry in claimed]
            self.leases.hold(held)
            try:
                await self.attempt_all(claimed)
            finally:
                self.leases.release(held)
        except asyncpg.DataError as error:
            # A request the database cannot hold (a NUL in an id): retrying cannot help, and would block
            # the partition. The consumer isolates it and dead-letters it with this reason.
            raise Permanent(f"request cannot be stored: {error!r}") from error
        except (asyncpg.PostgresError, OSError) as error:
            # The batch is consumed again; what was claimed already is the retry loop's (stale-send rule).
            raise Transient(f"database unavailable: {error!r}") from error

    async def attempt_all(self, entries: list[LedgerEntry]) -> None:
        """Try claimed messages (by the consumer, or by the retry loop) once, record and report the outcomes.

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
        lookups = await self.lookup.read([entry.request for entry in entries])
        settled: list[Settled] = []
        ready: list[tuple[LedgerEntry, Channel[Any], Any]] = []
        for entry in entries:
            channel = self._routes[entry.request.channel]
            match self._plan(channel, entry.request, lookups):
                case Skip(reason):
                    settled.append(Settled(entry.message_id, "suppressed", reason))
                case Fail(reason):
                    settled.append(Settled(entry.message_id, "failed", reason))
                case plan:
                    ready.append((entry, channel, plan))
            # Rendering is CPU work: let the chunk on the connections read its replies in between.
            await asyncio.sleep(0)
        ready = await self._admit_emails(ready, settled)
        attempts = await self.ledger.start_attempts([entry.message_id for entry, _, _ in ready])
        # Outcomes are recorded as sends complete, a group per write: the window between an SMTP 250
        # and the ledger saying `sent` stays one write long, not as long as the batch's slowest send.
        recorder: GroupWriter[Settled, LedgerEntry] = GroupWriter(lambda group: self.ledger.finish_all(group, requests))
        for outcome in settled:
            recorder.add(outcome)

        async def deliver(entry: LedgerEntry, channel: Channel[Any], plan: Any) -> None:
            try:
                result = await channel.send(plan)
            except Exception as error:  # noqa: BLE001 - one message's crash must not lose the batch's outcomes
                log.exception("message.send_crashed", message_id=entry.message_id)
                recorder.add(Settled(entry.message_id, "failed", _crash_reason("sending crashed", error)))
                return
            attempt = attempts[entry.message_id]
            recorder.add(await channel.settle(entry.request, attempt, result, plan, self._clock()))

        await asyncio.gather(*(deliver(entry, channel, plan) for entry, channel, plan in ready))
        finals = await recorder.close()
        count_outcomes(finals, lookups, self.channels.pacing.groups)
        for final in finals:
            log.info("message.outcome", message_id=final.message_id, state=final.state, attempt=final.attempts)
        return finals

    async def _admit_emails(
        self, ready: list[tuple[LedgerEntry, Channel[Any], Any]], settled: list[Settled]
    ) -> list[tuple[LedgerEntry, Channel[Any], Any]]:
        """Emails get their slot in their receiving domain's pace; those held wait as deferred, without an attempt."""
        emails = [(entry, plan) for entry, channel, plan in ready if isinstance(plan, Email)]
        if not emails:
            return ready
        admitted = dict(
            zip(
                (entry.message_id for entry, _ in emails),
                await self.email.admit([p for _, p in emails], self._clock()),
                strict=True,
            )
        )
        kept: list[tuple[LedgerEntry, Channel[Any], Any]] = []
        for entry, channel, plan in ready:
            outcome = admitted.get(entry.message_id, plan)
            if isinstance(outcome, Hold):
                settled.append(Settled(entry.message_id, "deferred", outcome.reason, outcome.until))
            else:
                kept.append((entry, channel, outcome))
        return kept

    def _plan(self, channel: Channel[Any], request: MessageRequested, lookups: Lookups) -> Any:
        """The channel's plan; a message that crashes it fails with the reason, and the batch goes on."""
        started = time.perf_counter()
        try:
            return channel.plan(request, lookups, self._clock())
        except Exception as error:  # noqa: BLE001 - a poison message must not stop the batch or the consumer
            log.exception("message.plan_crashed", message_id=request.event_id)
            return Fail(_crash_reason("could not be prepared", error))
        finally:
            RENDER_SECONDS.labels(request.channel).observe(time.perf_counter() - started)
