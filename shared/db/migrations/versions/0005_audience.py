"""Audience: segments and their members, and flow entries held until a double opt-in is confirmed.

Revision ID: 0005_audience
Revises: 0004_consent
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_audience"
down_revision = "0004_consent"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("segment_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("condition", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "segment_id"),
    )
    op.create_table(
        "segment_members",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("segment_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "segment_id", "contact_id"),
    )
    op.create_index("segment_members_contact", "segment_members", ["workspace_id", "contact_id"])
    # A marketing flow's trigger that came while the contact's consent waited for confirmation.
    op.create_table(
        "held_entries",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("trigger_event", JSONB, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", "flow_id"),
    )


def downgrade() -> None:
    op.drop_table("held_entries")
    op.drop_index("segment_members_contact", "segment_members")
    op.drop_table("segment_members")
    op.drop_table("segments")
