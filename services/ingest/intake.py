"""Accepting events: resolve the contact, keep its profile, and write every record to the broker.

Only when the broker has acknowledged every record does the caller get its event ids.
Retries are safe: an event keeps the id the shop gave it (or the one we answered with),
and profile merges are idempotent.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

import asyncpg
import orjson

from services.ingest.adapters.consent import WorkspaceSettings, record_consent
from services.ingest.adapters.group_commit import GroupCommit, Transaction
from services.ingest.adapters.identities import ContactResolver
from services.ingest.adapters.profiles import merge_into_profile
from services.ingest.domain.confirmation import DEFAULT_TEMPLATE, confirmation_request
from services.ingest.domain.consent import double_opt_in_rule, signup_consent
from services.ingest.domain.profile import carries_profile, identifiers_of, profile_update
from services.ingest.domain.records import EventRecords, contact_record
from services.ingest.domain.requests import AnyEventIn, ContactRef, SignupIn
from shared.contact_data import erase_contact
from shared.contract.topics import CONTACTS, MESSAGES_REQUESTED, topic_for_event_type
from shared.db.lazy import LazyTransaction
from shared.ids import new_id
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from shared.tokens import key_ring_from_setting

# A profile record and the key that marks it published once the broker has it.
ProfileRecord = tuple[OutgoingRecord, tuple[str, bytes]]
# Who an event is about, their profile record (if it changed) and consent records.
Resolved = tuple[str, ProfileRecord | None, list[OutgoingRecord]]


class Intake:
    def __init__(self, pool: asyncpg.Pool, producer: Producer, settings: CommonSettings) -> None:
        self._pool = pool
        self._producer = producer
        self._tracker_url = settings.tracker_public_url
        self._keys = key_ring_from_setting(settings.link_signing_keys.get_secret_value())
        self._workspaces = WorkspaceSettings(pool)
        self.resolver = ContactResolver(pool)
        self._transactions = GroupCommit(pool)
        # Profiles already on the broker, by (contact, hash of what was said): skips re-publishing
        # the same details on every event. Filled only after the broker acknowledged.
        self._published: OrderedDict[tuple[str, bytes], None] = OrderedDict()

    async def contact_id(self, workspace_id: str, ref: ContactRef, db: Transaction) -> str:
        if ref.contact_id:
            return ref.contact_id
        return await self.resolver.resolve(workspace_id, identifiers_of(ref), db)

    async def accept_events(self, workspace_id: str, events: Sequence[AnyEventIn]) -> list[str]:
        received_at = datetime.now(UTC)
        writer = EventRecords(workspace_id, received_at)
        records: list[OutgoingRecord] = []
        pending_profiles: list[tuple[str, bytes]] = []
        event_ids: list[str] = []
        # Read before any transaction opens: a request holding a connection must never wait for a second one.
        settings = await self._workspaces.get(workspace_id) if any(isinstance(e, SignupIn) for e in events) else {}
        for event in events:
            event_id = event.event_id or new_id()
            consent_records: list[OutgoingRecord] = []
            profile_record = None
            contact_id = self._returning_contact(workspace_id, event)
            if contact_id is None:
                # Identity, profile and consent of one event share one transaction; a request of one
                # event shares it with others arriving at the same moment (one commit for them all).
                work = partial(self._resolve, workspace_id, event, event_id, settings, received_at)
                run = self._transactions.run if len(events) == 1 else self._transactions.run_alone
                resolved: Resolved = await run(work)
                contact_id, profile_record, consent_records = resolved
                if profile_record is not None:
                    records.append(profile_record[0])
                    pending_profiles.append(profile_record[1])
            topic = topic_for_event_type(event.type)
            value = writer.value(event, contact_id=contact_id, event_id=event_id)
            records.append(OutgoingRecord(topic, contact_id, value, writer.headers(event)))
            records.extend(consent_records)
            event_ids.append(event_id)
        await self._producer.send_all(records)
        self._mark_published(pending_profiles)
        return event_ids

    async def _resolve(
        self,
        workspace_id: str,
        event: AnyEventIn,
        event_id: str,
        settings: dict[str, object],
        received_at: datetime,
        db: Transaction,
    ) -> Resolved:
        """Who the event is about, what it changes in their profile and consent: run again on a retry."""
        contact_id = await self.contact_id(workspace_id, event.contact, db)
        profile_record = None
        if carries_profile(event.contact):
            profile_record = await self._profile_record(db, workspace_id, contact_id, event.contact, received_at)
        consent_records: list[OutgoingRecord] = []
        if isinstance(event, SignupIn):
            consent_records = await self._consent(db, settings, workspace_id, contact_id, event_id, event, received_at)
        return contact_id, profile_record, consent_records

    def _returning_contact(self, workspace_id: str, event: AnyEventIn) -> str | None:
        """A returning customer with nothing new to say needs no database: the usual event."""
        ref = event.contact
        if isinstance(event, SignupIn) or carries_profile(ref):
            return None
        return ref.contact_id or self.resolver.known(workspace_id, identifiers_of(ref))

    async def _consent(
        self,
        db: Transaction,
        settings: dict[str, object],
        workspace_id: str,
        contact_id: str,
        event_id: str,
        signup: SignupIn,
        received_at: datetime,
    ) -> list[OutgoingRecord]:
        """Record what the person agreed to; with double opt-in, ask them to confirm (once per sign-up)."""
        outcome = signup_consent(
            signup.consent,
            source="form",
            occurred_at=signup.occurred_at or received_at,
            rule=double_opt_in_rule(settings),
            origin=signup.source,
        )
        if not outcome.entries:
            return []
        waiting = await record_consent(await db.connection(), workspace_id, contact_id, event_id, outcome)
        if not waiting:
            return []
        request = confirmation_request(
            workspace_id=workspace_id,
            contact_id=contact_id,
            signup_event_id=event_id,
            template_id=str(settings.get("confirmation_template", DEFAULT_TEMPLATE)),
            tracker_url=self._tracker_url,
            keys=self._keys,
            now=received_at,
        )
        return [OutgoingRecord.of(MESSAGES_REQUESTED, request)]

    async def erase(self, workspace_id: str, contact_id: str) -> dict[str, int]:
        """Erase in the database first, then tell downstream consumers with a tombstone (retry-safe)."""
        async with self._pool.acquire() as connection, connection.transaction():
            removed = await erase_contact(connection, workspace_id, contact_id)
        self.resolver.forget(workspace_id, contact_id)
        self._published = OrderedDict((key, None) for key in self._published if key[0] != contact_id)
        await self._producer.send_all([OutgoingRecord(CONTACTS, contact_id, None, [("op", b"erase")])])
        return removed

    async def identify(self, workspace_id: str, ref: ContactRef) -> tuple[str, dict[str, object]]:
        """Set who a contact is; publishes the full profile even when nothing changed (an explicit call)."""
        received_at = datetime.now(UTC)
        async with LazyTransaction(self._pool) as db:
            contact_id = await self.contact_id(workspace_id, ref, db)
            profile = await merge_into_profile(await db.connection(), workspace_id, contact_id, profile_update(ref))
        topic, record = contact_record(
            profile,
            workspace_id=workspace_id,
            contact_id=contact_id,
            change_id=new_id(),
            received_at=received_at,
        )
        await self._producer.send_all([OutgoingRecord.of(topic, record)])
        return contact_id, profile

    async def _profile_record(
        self, db: Transaction, workspace_id: str, contact_id: str, ref: ContactRef, received_at: datetime
    ) -> ProfileRecord | None:
        update = profile_update(ref)
        said = (contact_id, hashlib.sha256(orjson.dumps(update, option=orjson.OPT_SORT_KEYS)).digest())
        if said in self._published:
            return None
        profile = await merge_into_profile(await db.connection(), workspace_id, contact_id, update)
        change_id = "profile-" + said[1][:12].hex()
        topic, record = contact_record(
            profile, workspace_id=workspace_id, contact_id=contact_id, change_id=change_id, received_at=received_at
        )
        return OutgoingRecord.of(topic, record), said

    def _mark_published(self, said: list[tuple[str, bytes]]) -> None:
        for key in said:
            self._published[key] = None
        while len(self._published) > 100_000:
            self._published.popitem(last=False)
