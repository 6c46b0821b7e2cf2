"""Email: rendered for its reader into message bytes signed as its workspace, admitted by the sending
domain's warm-up and the receiving domain's pace, handed to the SMTP relay, and the address
suppressed when the receiver says it does not exist."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from services.sender.adapters.audience import Audience
from services.sender.adapters.domain_pacing import DomainPacing, Held, Slot
from services.sender.adapters.ledger import Settled
from services.sender.adapters.sending_volume import SendingVolume
from services.sender.domain.mailbox import AddressError, mailbox_of
from services.sender.domain.outcome import Attempt
from services.sender.domain.rendering.errors import MissingData, RenderError
from services.sender.domain.retry_schedule import RetrySchedule
from services.sender.domain.warmup import daily_limit
from services.sender.usecases.channels.channel import (
    Eligible,
    Fail,
    Hold,
    Lookups,
    Skip,
    eligible,
    settled,
    with_promise,
)
from services.sender.usecases.mail import MailComposer
from shared.contract.internal import MessageRequested
from shared.sending_identities import UnreadableKey
from shared.smtp_replies import Outcome, classify_smtp_reply


@dataclass(frozen=True, slots=True)
class Email:
    address: str  # as the profile holds it: what a hard bounce suppresses
    recipient: str  # as SMTP carries it (IDNA domain)
    data: bytes
    subject: str | None = None  # as rendered: kept in the send ledger for the reader's data export
    mail_from: str = ""  # the envelope sender
    sending_domain: str = ""
    warmup_limit: int | None = None  # the sending domain's emails today, while it warms up
    slot: Slot | None = None  # its start in the receiving domain's pace, once admitted
    opens_tracked: bool | None = None  # whether it carries the open pixel (reports say opens are unknown if not)


@dataclass(frozen=True, slots=True)
class Warmup:
    """The daily ramp of newly added sending domains, and their volume so far."""

    schedule: tuple[int, ...]
    volume: SendingVolume


class EmailChannel:
    def __init__(
        self,
        composer: MailComposer,
        pacing: DomainPacing,
        audience: Audience,
        schedule: RetrySchedule,
        warmup: Warmup | None = None,
    ) -> None:
        self.composer, self.pacing, self.audience, self.schedule = composer, pacing, audience, schedule
        self.warmup = warmup

    def plan(self, request: MessageRequested, lookups: Lookups, now: datetime) -> Email | Skip | Fail:
        found = eligible(request, lookups)
        if not isinstance(found, Eligible):
            return found
        identity = lookups.identities.get(request.workspace_id)
        if isinstance(identity, UnreadableKey):
            return Fail(f"{identity}: run `dripline domains add` for workspace {request.workspace_id} again")
        try:
            recipient = mailbox_of(found.address)
            letter = self.composer.render(
                found.template,
                message_id=request.event_id,
                workspace_id=request.workspace_id,
                contact_id=request.contact_id,
                profile=found.reader.profile,
                variables=with_promise(request, found.reader),
                now=now,
                flow_id=request.flow_id,
                step_id=request.step_id,
                broadcast_id=request.broadcast_id,
                consent=found.reader.consent,
                context=request.context,
                identity=identity,
                workspace_name=lookups.workspace_names.get(request.workspace_id),
            )
        except MissingData as missing:
            return Skip(missing.detail)
        except (AddressError, RenderError) as error:
            return Fail(str(error))
        data = self.composer.message_bytes(letter, message_id=request.event_id, now=now)
        limit = None
        if identity is not None and self.warmup is not None:
            limit = daily_limit(self.warmup.schedule, identity.warmup_started_on, now.date())
        sender = self.composer.sender(request.workspace_id, identity)
        return Email(
            found.address, recipient.address, data, letter.rendered.subject, self.composer.mail_from(letter),
            sender.sending_domain, limit, opens_tracked=letter.rendered.opens_tracked,
        )  # fmt: skip

    async def admit(self, plans: list[Email], now: datetime) -> list[Email | Hold]:
        """Each plan with its slot in its receiving domain's pace, or held: over its sending domain's volume
        for the day (until tomorrow, in order) or its receiving domain slowed down (until its next slot)."""
        admitted: list[Email | Hold] = list(plans)
        if self.warmup is not None:
            await self._warm_up(admitted, now)
        given_back: dict[str, int] = defaultdict(int)
        for n, plan in enumerate(admitted):
            if isinstance(plan, Hold):
                continue
            match self.pacing.admit(plan.recipient):
                case Slot() as slot:
                    admitted[n] = replace(plan, slot=slot)
                case Held(reason=reason, wait_seconds=wait):
                    admitted[n] = Hold(reason, now + timedelta(seconds=wait))
                    if plan.warmup_limit is not None:
                        given_back[plan.sending_domain] += 1
        for domain, count in given_back.items():
            assert self.warmup is not None
            await self.warmup.volume.give_back(domain, now.date(), count)
        return admitted

    async def _warm_up(self, admitted: list[Email | Hold], now: datetime) -> None:
        assert self.warmup is not None
        by_domain: dict[str, list[int]] = defaultdict(list)
        for n, plan in enumerate(admitted):
            if isinstance(plan, Email) and plan.warmup_limit is not None:
                by_domain[plan.sending_domain].append(n)
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
        for domain, places in by_domain.items():
            first = admitted[places[0]]  # every email of a domain has its (one) identity's limit
            assert isinstance(first, Email) and first.warmup_limit is not None
            limit = first.warmup_limit
            # In request order: the first of the batch get what is left of the day, the rest wait.
            granted = await self.warmup.volume.reserve(domain, now.date(), len(places), limit)
            reason = (
                f"held: {domain} is warming up and has sent its {limit} emails for {now.date()}; "
                f"waits for {tomorrow.date()}"
            )
            for n in places[granted:]:
                admitted[n] = Hold(reason, tomorrow)

    async def send(self, plan: Email) -> Attempt:
        assert plan.slot is not None, "admit() gives an email its slot before it is sent"
        reply = await self.pacing.send(plan.slot, plan.mail_from, plan.recipient, plan.data)
        verdict = classify_smtp_reply(reply.code, reply.message)
        return Attempt(verdict.outcome, verdict.reason)

    async def settle(
        self, request: MessageRequested, attempts: int, result: Attempt, plan: Email, now: datetime
    ) -> Settled:
        if result.outcome is Outcome.BOUNCED_HARD:
            await self.audience.suppress(
                request.workspace_id, "email", plan.address, reason="bounced", source=f"message:{request.event_id}"
            )
        outcome = settled(request.event_id, attempts, result, self.schedule, now)
        return replace(outcome, subject=plan.subject, opens_tracked=plan.opens_tracked)
