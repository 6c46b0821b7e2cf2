"""A broadcast may be throttled per receiving domain: each recipient row keeps the domain of the address it
goes to (set when the audience is resolved), and an index finds the ones requested lately per domain.

Revision ID: 0029_broadcast_domains
Revises: 0022_broadcasts
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_broadcast_domains"
down_revision = "0022_broadcasts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("broadcast_recipients", sa.Column("domain", sa.Text))
    op.create_index(
        "broadcast_recipients_domain",
        "broadcast_recipients",
        ["workspace_id", "broadcast_id", "domain", "updated_at"],
        postgresql_where=sa.text("state = 'requested' AND domain IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("broadcast_recipients_domain", table_name="broadcast_recipients")
    op.drop_column("broadcast_recipients", "domain")
