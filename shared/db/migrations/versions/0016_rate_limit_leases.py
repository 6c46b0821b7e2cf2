"""Rate limits shared by every replica: one token bucket per name (an API key, a workspace's test sends).

Replicas lease a few tokens at a time from the row and spend them in memory, so a key's limit holds
across replicas without a round trip per request (`shared/rate_limits.py`). Times are the
database's clock in epoch seconds, the one clock every replica shares. The table names no contact.

Revision ID: 0016_rate_limit_leases
Revises: 0011_key_scopes
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_rate_limit_leases"
down_revision = "0011_key_scopes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("name", sa.Text, primary_key=True),  # key:<api key id>, test-sends:<workspace id>
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("counted_at", sa.Float, nullable=False),  # epoch seconds, database clock
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
