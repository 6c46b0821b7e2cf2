"""Reading a contact list (CSV) row by row into identify calls and consent, with a reason for every rejected row."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from services.ingest.domain.requests import ContactIn

TRUTHY = {"1", "true", "yes", "y", "ja", "ya", "x"}
PROFILE_COLUMNS = {"external_id", "email", "phone", "first_name", "last_name", "locale", "timezone", "birthday"}


@dataclass(frozen=True)
class ImportRow:
    line: int
    contact: ContactIn
    consent: bool
    topics: list[str]


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


def parse_rows(
    rows: Iterator[Mapping[str, str | None]], *, consent_column: str, default_topics: list[str]
) -> Iterator[ImportRow | RejectedRow]:
    """Columns named like profile fields fill the profile; the rest become attributes.

    `topics` (comma-separated) overrides `default_topics` per row. Line numbers count the header as 1.
    """
    for index, raw in enumerate(rows, start=2):
        row = {key.strip(): (value or "").strip() for key, value in raw.items() if key}
        profile = {key: value for key, value in row.items() if key in PROFILE_COLUMNS and value}
        extra = {
            key: value
            for key, value in row.items()
            if key not in PROFILE_COLUMNS and key not in (consent_column, "topics") and value
        }
        try:
            contact = ContactIn(**profile, attributes=extra)  # type: ignore[arg-type]
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"] if "[" not in str(part)) or "row"
            yield RejectedRow(index, f"{where}: {first['msg']}")
            continue
        topics = [topic.strip() for topic in row.get("topics", "").split(",") if topic.strip()] or default_topics
        yield ImportRow(index, contact, row.get(consent_column, "").lower() in TRUTHY, topics)
