"""Each workspace sends as itself: From, Reply-To, postal address, sending and tracking domain, and
the DKIM key (encrypted with DRIPLINE_IDENTITY_ENCRYPTION_KEY); and each sending domain's daily
volume, which its warm-up caps. Neither table holds a contact's data.

Revision ID: 0018_sending_identities
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_sending_identities"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "sending_identities",
        sa.Column("workspace_id", sa.Text, sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("from_name", sa.Text, nullable=False),
        sa.Column("from_address", sa.Text, nullable=False),
        sa.Column("reply_to", sa.Text),
        sa.Column("postal_address", sa.Text),
        sa.Column("sending_domain", sa.Text, nullable=False),
        sa.Column("tracking_domain", sa.Text),
        sa.Column("dkim_selector", sa.Text, nullable=False),
        sa.Column("dkim_private_key", sa.LargeBinary, nullable=False),  # Fernet token of the PEM
        sa.Column("warmup_started_on", sa.Date),  # None: no warm-up
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "sending_volume",
        sa.Column("sending_domain", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("sending_domain", "day"),
    )


def downgrade() -> None:
    op.drop_table("sending_volume")
    op.drop_table("sending_identities")
