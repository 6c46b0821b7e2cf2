"""The one shape every channel has, and what email and text messages share.

A channel `plan`s a message (renders or builds what will go, or says why not), `send`s the plan
once, and `settle`s the attempt into what the ledger records. The dispatcher claims and routes;
it knows no channel's details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.sender.adapters.audience import AddressKey, ContactKey
from services.sender.adapters.ledger import Settled
from services.sender.domain.eligibility import Reader, address_of, blocked, unreachable
from services.sender.domain.outcome import Attempt
from services.sender.domain.rendering.template import Category, Template
from services.sender.domain.retry_schedule import RetrySchedule
from shared.contract.internal import MessageRequested
from shared.identity import IdentifierKind
from shared.sending_identities import SendingIdentity, UnreadableKey
from shared.smtp_replies import Outcome

PlanT = TypeVar("PlanT")

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
class Hold:
    """Not attempted now, on purpose: the sending domain's warm-up or the receiving domain's pace says
    wait. The ledger keeps it deferred until `until`, with the reason; it costs no attempt."""

    reason: str
    until: datetime


class Languages:
    """Each template in each reader's language, made once per template version and locale: a new copy for
    every message would be hashed again, to find its compiled form, for every message."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        # By the template's identity, which stays the same while the template is held here.
        self._made: dict[tuple[int, str | None, str | None], tuple[Template, Template]] = {}

    def of(self, template: Template, locale: str | None, default: str | None) -> Template:
        if not template.variants:
            return template
        key = (id(template), locale, default)
        made = self._made.get(key)
        if made is not None and made[0] is template:
            return made[1]
        if len(self._made) >= self._limit:
            self._made.clear()
        language = template.in_locale(locale, default)
        self._made[key] = (template, language)
        return language


@dataclass(frozen=True)
class Lookups:
    """What a batch of requests needs from the database, read in a fixed handful of queries."""

    readers: dict[ContactKey, Reader]
    templates: dict[tuple[str, str], Template | Fail]
    suppressions: dict[AddressKey, frozenset[str]]
    # By workspace; none: the settings' sender. An unreadable one fails its workspace's mail.
    identities: dict[str, SendingIdentity | UnreadableKey] = field(default_factory=dict)
    workspace_names: dict[str, str] = field(default_factory=dict)  # what `workspace.name` prints
    default_locales: dict[str, str] = field(default_factory=dict)  # where no variant fits the reader
    languages: Languages = field(default_factory=Languages)

    def reader(self, request: MessageRequested) -> Reader | None:
        return self.readers.get((request.workspace_id, request.contact_id))


class Channel(Protocol[PlanT]):
    def plan(self, request: MessageRequested, lookups: Lookups, now: datetime) -> PlanT | Skip | Fail:
        """What will be sent, or why nothing is; pure CPU work on what the batch read."""
        ...

    async def send(self, plan: PlanT) -> Attempt:
        """One delivery attempt; what the receiver said comes back, it is not raised."""
        ...

    async def settle(
        self, request: MessageRequested, attempts: int, result: Attempt, plan: PlanT, now: datetime
    ) -> Settled:
        """The attempt as the ledger records it (and what it means for the address)."""
        ...


@dataclass(frozen=True)
class Eligible:
    reader: Reader
    address: str
    template: Template


def reader_locale(request: MessageRequested, reader: Reader) -> str | None:
    """The locale whose variant the message gets: frozen into the request by the flow when it decided to
    send (a retry renders the same language), else the reader's profile now."""
    locale = request.context.get("locale") or reader.profile.get("locale")
    return str(locale) if locale else None


def with_promise(request: MessageRequested, reader: Reader) -> dict[str, Any]:
    """The request's variables and `promise`: how often the reader will hear from the workspace, in their
    language (the topic's promise, or for a sign-up's confirmation every topic they are signing up to)."""
    if "promise" in request.variables:
        return request.variables
    promise = reader.promise(request.topic, reader_locale(request, reader))
    return {**request.variables, "promise": promise} if promise else request.variables


def eligible(request: MessageRequested, lookups: Lookups) -> Eligible | Skip | Fail:
    """The reader, their address and the template, or why not to send."""
    kind = ADDRESS_FIELDS[request.channel]
    reader = lookups.reader(request)
    why = unreachable(reader, kind)
    if why is not None:
        return Skip(why)
    assert reader is not None  # unreachable() names a missing reader
    template = lookups.templates[(request.workspace_id, request.template_id)]
    if isinstance(template, Fail):
        return template
    template = lookups.languages.of(
        template, reader_locale(request, reader), lookups.default_locales.get(request.workspace_id)
    )
    address = str(address_of(reader, kind))
    marketing = request.category == "marketing" or template.category is Category.MARKETING
    scopes = lookups.suppressions.get((request.workspace_id, kind, address), frozenset())
    why = blocked(reader, kind, marketing=marketing, topic=request.topic, suppression_scopes=scopes)
    if why is not None:
        return Skip(why)
    return Eligible(reader, address, template)


def settled(message_id: str, attempts: int, result: Attempt, schedule: RetrySchedule, now: datetime) -> Settled:
    """An attempt's outcome in the ledger's terms; a deferral past the schedule's end fails."""
    match result.outcome:
        case Outcome.SENT:
            return Settled(message_id, "sent", result.detail)
        case Outcome.DEFERRED:
            retry_at = schedule.next_attempt(attempts, now)
            if retry_at is None:
                return Settled(message_id, "failed", f"gave up after {attempts}: {result.detail}")
            return Settled(message_id, "deferred", result.detail, retry_at)
        case Outcome.BOUNCED_HARD:
            return Settled(message_id, "bounced", result.detail)
        case _:
            return Settled(message_id, "failed", result.detail)
