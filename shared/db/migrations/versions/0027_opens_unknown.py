"""Opens unknown: an email sent without the open pixel (tracking off, or HTML too short to carry one
without filters taking it for an image-only message) cannot be seen opened, so reports count those apart
and take open rates over the emails that could be. An index lets the daily deliverability rates count the
bounces providers report later by the day they came.

The send ledger keeps whether each sent email carried the pixel (its status record says so), the
analytics fold keeps when a message was delivered without one, and the daily counters count them.

Revision ID: 0027_opens_unknown
Revises: 0014_sent_subjects
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_opens_unknown"
down_revision = "0014_sent_subjects"
branch_labels = None
depends_on = "0006_analytics"


def upgrade() -> None:
    op.add_column("send_ledger", sa.Column("opens_tracked", sa.Boolean))
    op.add_column("analytics_messages", sa.Column("untracked_sent_at", sa.DateTime(timezone=True)))
    op.add_column("analytics_daily", sa.Column("opens_unknown", sa.BigInteger, nullable=False, server_default="0"))
    # The daily deliverability rates count the bounces providers report later by the day they came.
    op.create_index(
        "suppressions_bounced_at", "suppressions", ["created_at"], postgresql_where=sa.text("reason = 'bounced'")
    )


def downgrade() -> None:
    op.drop_index("suppressions_bounced_at", table_name="suppressions")
    op.drop_column("analytics_daily", "opens_unknown")
    op.drop_column("analytics_messages", "untracked_sent_at")
    op.drop_column("send_ledger", "opens_tracked")
