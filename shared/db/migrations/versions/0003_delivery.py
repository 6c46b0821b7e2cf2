"""Delivery: versioned templates and the send ledger.

Revision ID: 0003_delivery
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_delivery"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    # Every publish of changed source is a new version; sends use the latest.
    op.create_table(
        "templates",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("template_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "template_id", "version"),
    )
    # One row per message: whoever inserts it is the only one who sends it.
    op.create_table(
        "send_ledger",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("template_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),  # claimed|sending|sent|deferred|failed|bounced|suppressed
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_reply", sa.Text),
        sa.Column("request", JSONB, nullable=False),  # the request as received, for retries
        sa.Column("flow_id", sa.Text),
        sa.Column("flow_version", sa.Integer),
        sa.Column("step_id", sa.Text),
        # False until this state's MessageStatus is on the broker: a small outbox of its own.
        sa.Column("reported", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index(
        "send_ledger_due",
        "send_ledger",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'deferred'"),
    )
    op.create_index(
        "send_ledger_open",
        "send_ledger",
        ["updated_at"],
        postgresql_where=sa.text("state IN ('claimed', 'sending') OR NOT reported"),
    )


def downgrade() -> None:
    op.drop_table("send_ledger")
    op.drop_table("templates")
