"""Accepting events: resolve the contact, keep its profile, and write every record to the broker.

Only when the broker has acknowledged every record does the caller get its event ids.
Retries are safe: an event keeps the id the shop gave it (or the one we answered with),
and profile merges are idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from services.ingest.adapters.consent import WorkspaceSettings
from services.ingest.adapters.contact_writes import ContactUpdate, ContactUpdated, write_contacts
from services.ingest.adapters.erased import ErasedIdentifiers
from services.ingest.adapters.group_commit import GroupCommit
from services.ingest.adapters.identities import KnownContacts, PublishedProfiles, Said
from services.ingest.domain.confirmation import DEFAULT_TEMPLATE, confirmation_request
from services.ingest.domain.consent import double_opt_in_rule, signup_consent
from services.ingest.domain.identity_claims import ContactWanted, Identification
from services.ingest.domain.profile import carries_profile, identifiers_of, profile_update
from services.ingest.domain.records import EventRecords, contact_record
from services.ingest.domain.requests import AnyEventIn, ContactRef, SignupIn
from shared.contact_rights import erase_recorded, erasure_records
from shared.contract.audit import Via
from shared.contract.topics import MESSAGES_REQUESTED, topic_for_event_type
from shared.identity import IdentifierKind, identifier_hash
from shared.ids import new_id
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from shared.tokens import key_ring_from_setting

Identifiers = list[tuple[IdentifierKind, str]]


class Intake:
    def __init__(self, pool: asyncpg.Pool, producer: Producer, settings: CommonSettings) -> None:
        self._pool = pool
        self._producer = producer
        self._tracker_url = settings.tracker_public_url
        self._keys = key_ring_from_setting(settings.link_signing_keys)
        self._workspaces = WorkspaceSettings(pool)
        self.contacts = KnownContacts()
        self._erased = ErasedIdentifiers(pool)
        self._writes: GroupCommit[ContactUpdate, ContactUpdated] = GroupCommit(pool, write_contacts)
        # Profiles already on the broker, by (workspace, contact, hash of what was said): skips re-publishing
        # the same details on every event. Filled only after the broker acknowledged.
        self._published = PublishedProfiles()

    async def accept_events(self, workspace_id: str, events: Sequence[AnyEventIn]) -> list[str]:
        received_at = datetime.now(UTC)
        writer = EventRecords(workspace_id, received_at)
        event_ids = [event.event_id or new_id() for event in events]
        # Read before any transaction opens: a request holding a connection must never wait for a second one.
        settings = await self._workspaces.get(workspace_id) if any(isinstance(e, SignupIn) for e in events) else {}
        contact_ids = [self._returning_contact(workspace_id, event) for event in events]
        dropped: set[int] = set()
        updates: dict[int, tuple[ContactUpdate, Identifiers]] = {}
        outcomes: dict[int, ContactUpdated] = {}
        if None in contact_ids:  # someone new, or something new about them (returning customers skip all this)
            # Naming an erased person: accepted (their event ids are answered) and dropped, nothing written or sent.
            unknown = [(n, event.contact) for n, event in enumerate(events) if contact_ids[n] is None]
            dropped = await self._erased.named(workspace_id, unknown, "event")
            updates = {
                n: self._update(workspace_id, event, event_id, settings, received_at)
                for n, (event, event_id, contact_id) in enumerate(zip(events, event_ids, contact_ids, strict=True))
                if contact_id is None and n not in dropped
            }
            outcomes = dict(zip(updates, await self._write(list(updates.values())), strict=True))
        records: list[OutgoingRecord] = []
        said: list[Said] = []
        for n, (event, event_id) in enumerate(zip(events, event_ids, strict=True)):
            if n in dropped:
                continue
            extra: list[OutgoingRecord] = []
            outcome = outcomes.get(n)
            if outcome is not None:
                contact_id = outcome.contact_id
                if outcome.profile is not None:
                    said.append((workspace_id, contact_id, _digest(updates[n][0].profile)))
                    records.append(self._profile_record(workspace_id, outcome.profile, said[-1], received_at))
                if outcome.awaiting_confirmation:
                    extra.append(self._confirmation(settings, workspace_id, contact_id, event_id, received_at))
            else:
                contact_id = str(contact_ids[n])
            topic = topic_for_event_type(event.type)
            value = writer.value(event, contact_id=contact_id, event_id=event_id)
            records.append(OutgoingRecord(topic, contact_id, value, writer.headers(event)))
            records.extend(extra)
        await self._producer.send_all(records)
        self._published.mark(said)
        return event_ids

    async def _write(self, updates: list[tuple[ContactUpdate, Identifiers]]) -> list[ContactUpdated]:
        """Updates with the identifiers they were resolved from (none when the contact was known).

        One update shares a transaction (and its commit) with others arriving at the same moment;
        a request of several is a group of its own.
        """
        if not updates:
            return []
        if len(updates) == 1:
            written = [await self._writes.run(updates[0][0])]
        else:
            written = await self._writes.run_alone([update for update, _ in updates])
        for (update, identifiers), outcome in zip(updates, written, strict=True):
            if identifiers:  # committed by now: safe to hand out without a query
                self.contacts.remember(update.workspace_id, identifiers, outcome.contact_id)
        return written

    def _update(
        self,
        workspace_id: str,
        event: AnyEventIn,
        event_id: str,
        settings: dict[str, object],
        received_at: datetime,
    ) -> tuple[ContactUpdate, Identifiers]:
        """What the event says about its contact: who they are, their profile and, for a sign-up, consent."""
        ref = event.contact
        contact, identifiers = self._wanted(workspace_id, ref)
        profile = None
        if carries_profile(ref):
            profile = profile_update(ref)
            known = contact.contact_id
            if known is not None and (workspace_id, known, _digest(profile)) in self._published:
                profile = None
        consent = None
        if isinstance(event, SignupIn):
            outcome = signup_consent(
                event.consent,
                source="form",
                occurred_at=event.occurred_at or received_at,
                rule=double_opt_in_rule(settings),
                origin=event.source,
            )
            consent = outcome if outcome.entries else None
        return ContactUpdate(workspace_id, event_id, contact, profile, consent), identifiers

    def _wanted(self, workspace_id: str, ref: ContactRef) -> tuple[ContactWanted, Identifiers]:
        """The contact when already known here; otherwise its identifiers, hashed for the database."""
        if ref.contact_id:
            return ContactWanted(ref.contact_id), []
        identifiers = identifiers_of(ref)
        known = self.contacts.known(workspace_id, identifiers)
        if known is not None:
            return ContactWanted(known), []
        hashed = [(workspace_id, kind, identifier_hash(workspace_id, kind, value)) for kind, value in identifiers]
        return ContactWanted(None, hashed), identifiers

    def _returning_contact(self, workspace_id: str, event: AnyEventIn) -> str | None:
        """A returning customer with nothing new to say needs no database: the usual event."""
        ref = event.contact
        if isinstance(event, SignupIn) or carries_profile(ref):
            return None
        return ref.contact_id or self.contacts.known(workspace_id, identifiers_of(ref))

    def _confirmation(
        self, settings: dict[str, object], workspace_id: str, contact_id: str, event_id: str, received_at: datetime
    ) -> OutgoingRecord:
        """With double opt-in, ask the person to confirm (one message id per sign-up, however often retried)."""
        request = confirmation_request(
            workspace_id=workspace_id,
            contact_id=contact_id,
            signup_event_id=event_id,
            template_id=str(settings.get("confirmation_template", DEFAULT_TEMPLATE)),
            tracker_url=self._tracker_url,
            keys=self._keys,
            now=received_at,
        )
        return OutgoingRecord.of(MESSAGES_REQUESTED, request)

    async def erase(self, workspace_id: str, contact_id: str, *, actor: str, via: Via) -> dict[str, int] | None:
        """Erase in the database first (with its audit entry), then tell downstream consumers with a
        tombstone and a notice (retry-safe).

        None, with nothing changed and nothing published, when this workspace holds nothing about the id:
        the same id in another workspace is another person."""
        async with self._pool.acquire() as connection, connection.transaction():
            removed = await erase_recorded(connection, workspace_id, contact_id, actor=actor, via=via)
        if removed is None:
            return None
        self.forget(workspace_id, contact_id)
        # The tombstone makes contacts.changes forget the profile; the notice tells every other consumer.
        await self._producer.send_all(erasure_records(workspace_id, contact_id, datetime.now(UTC)))
        return removed

    def forget(self, workspace_id: str, contact_id: str) -> None:
        """Drop what this process remembers of an erased contact: who its identifiers lead to, and which
        of its profiles are already on the broker (here, or through another process's erasure notice)."""
        self.contacts.forget(workspace_id, contact_id)
        self._published.forget(workspace_id, contact_id)

    async def identify(self, workspace_id: str, ref: ContactRef) -> tuple[str | None, dict[str, object]]:
        """Set who a contact is; publishes the full profile even when nothing changed (an explicit call).

        No contact (None) when the call names an erased person: nothing is kept or published."""
        [written] = await self.identify_all(workspace_id, [Identification(ref, new_id())])
        return (written.contact_id, written.profile or {}) if written else (None, {})

    async def identify_all(
        self, workspace_id: str, calls: Sequence[Identification], *, what: str = "identify"
    ) -> list[ContactUpdated | None]:
        """Many identify calls in one grouped write (consent included), their profiles published with one wait.

        Calls about one person resolve to one contact, each merging its profile over the calls before it.
        A call naming an erased person is dropped: None in its place, counted under `what`.
        """
        if not calls:
            return []
        dropped = await self._erased.named(workspace_id, [(n, call.contact) for n, call in enumerate(calls)], what)
        kept = [call for n, call in enumerate(calls) if n not in dropped]
        written = iter(await self._identify_kept(workspace_id, kept))
        return [None if n in dropped else next(written) for n in range(len(calls))]

    async def _identify_kept(self, workspace_id: str, calls: Sequence[Identification]) -> list[ContactUpdated]:
        if not calls:
            return []
        received_at = datetime.now(UTC)
        updates = []
        for call in calls:
            contact, identifiers = self._wanted(workspace_id, call.contact)
            update = ContactUpdate(workspace_id, call.event_id, contact, profile_update(call.contact), call.consent)
            updates.append((update, identifiers))
        written = await self._write(updates)
        records = []
        for outcome in written:
            topic, record = contact_record(
                outcome.profile or {},
                workspace_id=workspace_id,
                contact_id=outcome.contact_id,
                change_id=new_id(),
                received_at=received_at,
            )
            records.append(OutgoingRecord.of(topic, record))
        await self._producer.send_all(records)
        return written

    def _profile_record(
        self, workspace_id: str, profile: dict[str, Any], said: Said, received_at: datetime
    ) -> OutgoingRecord:
        _, contact_id, digest = said
        topic, record = contact_record(
            profile,
            workspace_id=workspace_id,
            contact_id=contact_id,
            change_id="profile-" + digest[:12].hex(),
            received_at=received_at,
        )
        return OutgoingRecord.of(topic, record)


def _digest(update: dict[str, Any] | None) -> bytes:
    """What was said about a contact, in a few bytes: the same details hash the same."""
    return hashlib.sha256(orjson.dumps(update, option=orjson.OPT_SORT_KEYS)).digest()
