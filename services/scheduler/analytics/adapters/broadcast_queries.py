"""Reads for a broadcast's report: its recipients' message facts, clicked links and attributed revenue."""

from __future__ import annotations

from typing import Any

from services.scheduler.analytics.adapters.queries import Db

# Per variant (template), unique per message, from the analytics fold's facts of each requested recipient.
_FUNNEL = """
SELECT r.variant, count(*)::bigint AS requested,
       count(m.sent_at)::bigint AS sent,
       count(*) FILTER (WHERE m.sent_at IS NOT NULL AND m.bounced_at IS NULL)::bigint AS delivered,
       count(m.bounced_at)::bigint AS bounced, count(m.failed_at)::bigint AS failed,
       count(m.suppressed_at)::bigint AS suppressed,
       count(m.opened_at)::bigint AS opened, count(m.clicked_at)::bigint AS clicked,
       count(m.machine_opened_at)::bigint AS machine_opened, count(m.machine_clicked_at)::bigint AS machine_clicked,
       count(m.unsubscribed_at)::bigint AS unsubscribed
FROM broadcast_recipients r
LEFT JOIN analytics_messages m ON m.workspace_id = r.workspace_id AND m.message_id = r.message_id
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested'
GROUP BY r.variant ORDER BY r.variant
"""
# Clicks by people on each link, from the engagement the scheduler keeps per contact (its history window).
_LINKS = """
SELECT h.data->>'url' AS url, count(*)::bigint AS clicks, count(DISTINCT h.contact_id)::bigint AS clickers
FROM broadcast_recipients r
JOIN contact_history h ON h.workspace_id = r.workspace_id AND h.contact_id = r.contact_id
     AND h.message_id = r.message_id AND h.type = 'message_clicked' AND NOT h.machine
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested' AND h.data->>'url' IS NOT NULL
GROUP BY 1 ORDER BY clicks DESC, url LIMIT $3
"""
# Purchases credited to a recipient's message (last click, else last open, within the attribution windows).
_REVENUE = """
SELECT r.variant AS key, a.currency, count(*)::bigint AS orders, sum(a.revenue) AS revenue
FROM broadcast_recipients r
JOIN analytics_attributions a ON a.workspace_id = r.workspace_id AND a.message_id = r.message_id
WHERE r.workspace_id = $1 AND r.broadcast_id = $2 AND r.state = 'requested'
GROUP BY r.variant, a.currency ORDER BY r.variant, a.currency
"""


async def _rows(db: Db, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch(sql, *args)]


async def funnel_by_variant(db: Db, workspace_id: str, broadcast_id: str) -> list[dict[str, Any]]:
    return await _rows(db, _FUNNEL, workspace_id, broadcast_id)


async def clicked_links(db: Db, workspace_id: str, broadcast_id: str, limit: int = 20) -> list[dict[str, Any]]:
    return await _rows(db, _LINKS, workspace_id, broadcast_id, limit)


async def revenue_by_variant(db: Db, workspace_id: str, broadcast_id: str) -> list[dict[str, Any]]:
    return await _rows(db, _REVENUE, workspace_id, broadcast_id)
