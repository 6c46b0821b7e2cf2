"""Reading a contact list (CSV) row by row into identify calls and consent, with a reason for every rejected row.

Rows are then written in chunks: one suppression lookup and one grouped write per chunk, not per row.
Pure: the time, the batch id and which addresses are suppressed come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TypeVar

from pydantic import ValidationError

from services.ingest.domain.consent import ConsentOutcome, LedgerEntry
from services.ingest.domain.identity_claims import Identification
from services.ingest.domain.requests import ContactIn
from shared.consent.channels import CONSENT_CHANNELS, ConsentChannel, consent_scopes
from shared.identity import identifier_hash

TRUTHY = {"1", "true", "yes", "y", "ja", "ya", "x"}
PROFILE_COLUMNS = {"external_id", "email", "phone", "first_name", "last_name", "locale", "timezone", "birthday"}


@dataclass(frozen=True)
class ImportRow:
    line: int
    contact: ContactIn
    consent: bool
    topics: list[str]
    channels: tuple[ConsentChannel, ...] = ()  # none named: a plain marketing consent, email only


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


def parse_rows(
    rows: Iterator[Mapping[str, str | None]], *, consent_column: str, default_topics: list[str]
) -> Iterator[ImportRow | RejectedRow]:
    """Columns named like profile fields fill the profile; the rest become attributes.

    `topics` (comma-separated) overrides `default_topics` per row; `channels` (comma-separated: email,
    sms, post, web) names the channels the row's consent covers. Line numbers count the header as 1.
    """
    for index, raw in enumerate(rows, start=2):
        row = {key.strip(): (value or "").strip() for key, value in raw.items() if key}
        profile = {key: value for key, value in row.items() if key in PROFILE_COLUMNS and value}
        extra = {
            key: value
            for key, value in row.items()
            if key not in PROFILE_COLUMNS and key not in (consent_column, "topics", "channels") and value
        }
        channels = [name.strip().lower() for name in row.get("channels", "").split(",") if name.strip()]
        unknown = sorted(set(channels) - set(CONSENT_CHANNELS))
        if unknown:
            yield RejectedRow(index, f"channels: unknown channel {', '.join(unknown)} (email, sms, post, web)")
            continue
        try:
            contact = ContactIn(**profile, attributes=extra)  # type: ignore[arg-type]
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"] if "[" not in str(part)) or "row"
            yield RejectedRow(index, f"{where}: {first['msg']}")
            continue
        topics = [topic.strip() for topic in row.get("topics", "").split(",") if topic.strip()] or default_topics
        named = tuple(c for c in CONSENT_CHANNELS if c in channels)
        yield ImportRow(index, contact, row.get(consent_column, "").lower() in TRUTHY, topics, named)


# Rows per grouped write: large enough that round trips stop mattering, small enough for one statement.
CHUNK_ROWS = 500
SUPPRESSED = "suppressed: this address was erased or bounced"

T = TypeVar("T")


def chunked(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` rows (the last may be shorter); reads no further than the chunk at hand."""
    if size < 1:
        raise ValueError("a chunk holds at least one row")
    remaining = iter(rows)
    while chunk := list(islice(remaining, size)):
        yield chunk


def address_hashes(workspace_id: str, rows: Iterable[ImportRow | RejectedRow]) -> dict[int, bytes]:
    """Line → hashed email of every row with an address: what the suppression list is asked about."""
    return {
        row.line: identifier_hash(workspace_id, "email", row.contact.email)
        for row in rows
        if isinstance(row, ImportRow) and row.contact.email
    }


@dataclass(frozen=True)
class ChunkPlan:
    write: list[ImportRow]
    rejected: list[RejectedRow]  # in line order: bad rows and suppressed addresses alike


def plan_chunk(
    rows: Iterable[ImportRow | RejectedRow], addresses: Mapping[int, bytes], suppressed: Set[bytes]
) -> ChunkPlan:
    """Rows to write, and rows rejected: unreadable ones and those whose address must never be mailed."""
    write: list[ImportRow] = []
    rejected: list[RejectedRow] = []
    for row in rows:
        if isinstance(row, RejectedRow):
            rejected.append(row)
        elif addresses.get(row.line) in suppressed:
            rejected.append(RejectedRow(row.line, SUPPRESSED))
        else:
            write.append(row)
    return ChunkPlan(write, rejected)


def import_consent(
    topics: list[str], policy_version: str | None, now: datetime, channels: tuple[ConsentChannel, ...] = ()
) -> ConsentOutcome:
    """Consent an imported list carries: granted for marketing, its channels (email when none are named)
    and each topic, subscribed at once."""
    scopes = consent_scopes(True, channels, topics)
    entries = [LedgerEntry("grant", scope, "import", now, policy_version=policy_version) for scope in scopes]
    return ConsentOutcome(entries, dict.fromkeys(scopes, "subscribed"), None, ask_for_confirmation=False)


def identification(row: ImportRow, *, batch_id: str, policy_version: str | None, now: datetime) -> Identification:
    """The identify call for a row; its ledger entries are keyed by batch and line, so a retry writes them once."""
    consent = import_consent(row.topics, policy_version, now, row.channels) if row.consent else None
    return Identification(row.contact, f"{batch_id}:{row.line}", consent)
