"""API keys get scopes and a rate limit.

Keys made before scopes existed could do everything, so they get `admin` and go on working; a key
inserted without naming its scopes (by an older release during a roll-out) gets `events:write`,
what a shop's server or website needs. Existing keys get the default limit of `dripline keys
create` (100 requests a second, bursts of 500); NULL means no limit.

Revision ID: 0011_key_scopes
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0011_key_scopes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("scopes", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{admin}'::text[]")),
    )
    op.alter_column("api_keys", "scopes", server_default=sa.text("'{events:write}'::text[]"))
    op.add_column("api_keys", sa.Column("rate_per_second", sa.Float))
    op.add_column("api_keys", sa.Column("burst", sa.Integer))
    op.execute("UPDATE api_keys SET rate_per_second = 100, burst = 500")
    op.create_check_constraint(
        "api_keys_limit",
        "api_keys",
        "(rate_per_second IS NULL AND burst IS NULL) OR (rate_per_second > 0 AND burst >= 1)",
    )


def downgrade() -> None:
    op.drop_constraint("api_keys_limit", "api_keys")
    op.drop_column("api_keys", "burst")
    op.drop_column("api_keys", "rate_per_second")
    op.drop_column("api_keys", "scopes")
