"""A day's bounce, complaint and unsubscribe rates per workspace and receiving domain (the part of the reader's
address after the @), with a warning where a rate is above what Gmail and Yahoo publish.

Read from the tables that already hold each fact, no copy of them (the statement is the consent store's
`DAILY_FEEDBACK`, since it reads the consent ledger): emails sent and bounced while sending from
`send_ledger`, complaints (source `complaint`) and readers' own unsubscribes from `consent_ledger`, the
receiving domain from the reader's profile. Bounces reported later by webhook or bounce mail suppress the
address but are not counted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from shared.consent import store

__all__ = ["COMPLAINT_LIMIT", "DomainDay", "daily_rates"]

# Gmail and Yahoo (bulk sender rules, 2024): keep the spam complaint rate below 0.3% of mail delivered.
COMPLAINT_LIMIT = 0.003
# The reader's own unsubscribes; an API or import withdrawal is the shop's, not the reader's.
_READER_SOURCES = ("one_click", "unsubscribe_link", "preferences", "mailto")


@dataclass(frozen=True, slots=True)
class DomainDay:
    workspace_id: str
    receiving_domain: str
    sent: int
    bounced: int
    complained: int
    unsubscribed: int

    def rate(self, count: int) -> float | None:
        """A share of the day's sent mail; None when nothing was sent (a rate of nothing is unknown)."""
        return count / self.sent if self.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.rate(self.complained)

    def warnings(self) -> list[str]:
        """What a marketer should act on today."""
        rate = self.complaint_rate
        if self.complained and (rate is None or rate >= COMPLAINT_LIMIT):
            shown = "no mail sent today" if rate is None else f"{rate:.2%} of {self.sent} sent"
            return [f"complaints {shown}: Gmail and Yahoo ask for under {COMPLAINT_LIMIT:.1%}"]
        return []


async def daily_rates(
    pool: asyncpg.Pool | asyncpg.Connection, day: date, workspace_id: str | None = None
) -> list[DomainDay]:
    """Every (workspace, receiving domain) with mail or feedback on ``day`` (UTC), busiest first."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    rows = await store.daily_feedback(pool, start, start + timedelta(days=1), workspace_id, _READER_SOURCES)
    return [
        DomainDay(r["workspace_id"], r["domain"], r["sent"], r["bounced"], r["complained"], r["unsubscribed"])
        for r in rows
    ]
