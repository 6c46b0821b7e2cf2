"""Flow link reports keep a link's scheme, host and path: queries and fragments, where templates put the
reader's address or id, go (as they now go from click records), and counts of links that now read the same
are added up.

Revision ID: 0013_links_without_queries
Revises: 0006_analytics
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.contract.redaction import public_url

revision = "0013_links_without_queries"
down_revision = "0006_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _links_without_queries()


def _links_without_queries() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT workspace_id, flow_id, step_id, url, clicks FROM analytics_links")).all()
    kept: dict[tuple[str, str, str, str], int] = {}
    for workspace_id, flow_id, step_id, url, clicks in rows:
        key = (workspace_id, flow_id, step_id, public_url(url) or "")
        kept[key] = kept.get(key, 0) + int(clicks)
    if all(public_url(row[3]) == row[3] for row in rows):
        return
    bind.execute(sa.text("DELETE FROM analytics_links"))
    bind.execute(
        sa.text(
            "INSERT INTO analytics_links (workspace_id, flow_id, step_id, url, clicks) "
            "VALUES (:workspace_id, :flow_id, :step_id, :url, :clicks)"
        ),
        [
            {"workspace_id": w, "flow_id": f, "step_id": s, "url": u, "clicks": clicks}
            for (w, f, s, u), clicks in kept.items()
        ],
    )


def downgrade() -> None:
    pass  # what was cut off is gone
