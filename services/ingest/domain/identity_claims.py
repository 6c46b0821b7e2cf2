"""Which contact each of a group's events is about, and which identifiers the group claims for them.

Pure: the identities already on record come in as a map, new ids from a factory. Events are
decided in arrival order, each seeing what the events before it claimed, so a group decides
exactly as if its events had been resolved one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from services.ingest.domain.consent import ConsentOutcome
from services.ingest.domain.requests import ContactRef

# (workspace, kind, hash of the normalised value): how an identifier is stored.
IdentityKey = tuple[str, str, bytes]


@dataclass(frozen=True)
class ContactWanted:
    """One event's contact: an id already known (given, or cached), or its identifiers strongest first."""

    contact_id: str | None
    identities: Sequence[IdentityKey] = ()


@dataclass(frozen=True)
class Identification:
    """An identify call: who the contact is, what we know about them and, for an imported row, their consent.

    The event id makes the consent ledger write each entry once, however often the call is retried.
    """

    contact: ContactRef
    event_id: str
    consent: ConsentOutcome | None = None


@dataclass(frozen=True)
class Assignment:
    contact_ids: list[str]  # per event
    fresh: list[bool]  # per event: a contact this group creates
    claims: list[tuple[IdentityKey, str]]  # identifier → contact, in key order (locks taken in one order)
    anchors: list[IdentityKey]  # the strongest identifier of every fresh contact: unless the group claims
    # them all, another writer created one of these people first and the group must run again


def assign_contacts(
    wanted: Sequence[ContactWanted], on_record: Mapping[IdentityKey, str], new_id: Callable[[], str]
) -> Assignment:
    """The strongest identifier on record wins; identifiers not yet on record are attached to it."""
    known = dict(on_record)
    contact_ids: list[str] = []
    fresh: list[bool] = []
    claims: dict[IdentityKey, str] = {}
    anchors: list[IdentityKey] = []
    for contact in wanted:
        if contact.contact_id is not None:
            contact_ids.append(contact.contact_id)
            fresh.append(False)
            continue
        strongest = next((known[key] for key in contact.identities if key in known), None)
        contact_id = strongest or new_id()
        for key in contact.identities:
            if key not in known:
                known[key] = claims[key] = contact_id
        if strongest is None and contact.identities:
            anchors.append(contact.identities[0])
        contact_ids.append(contact_id)
        fresh.append(strongest is None)
    return Assignment(contact_ids, fresh, sorted(claims.items()), anchors)
