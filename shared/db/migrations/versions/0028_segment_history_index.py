"""A segment's membership over time is read from contacts' `segment_entered` / `segment_left` history rows:
a partial index holds just those, by workspace, segment and time, so the console's segment page reads a
month of them without scanning the workspace's whole history.

Revision ID: 0028_segment_history_index
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0028_segment_history_index"
down_revision = "0001"
branch_labels = None
depends_on = "0002_flows"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX contact_history_segments ON contact_history (workspace_id, (data->>'segment'), occurred_at) "
        "WHERE type IN ('segment_entered', 'segment_left')"
    )


def downgrade() -> None:
    op.drop_index("contact_history_segments", table_name="contact_history")
