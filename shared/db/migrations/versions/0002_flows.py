"""Flows: published versions, enrollments, timers, contact history and the send ledger.

Revision ID: 0002_flows
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_flows"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _when(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=NOW)


def upgrade() -> None:
    # Versions are immutable: an enrollment keeps walking the version it entered on.
    op.create_table(
        "flow_versions",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_hash", sa.LargeBinary, nullable=False),
        _when("published_at"),
        sa.PrimaryKeyConstraint("workspace_id", "flow_id", "version"),
    )
    # The head: which version new contacts enter, and whether the flow is paused.
    op.create_table(
        "flows",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("date_triggered", sa.Boolean, nullable=False, server_default=sa.false()),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "flow_id"),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", JSONB, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _when("entered_at"),
        _when("updated_at"),
    )
    op.create_index("enrollments_contact", "enrollments", ["workspace_id", "contact_id", "flow_id"])
    op.create_index(
        "enrollments_live_by_flow",
        "enrollments",
        ["workspace_id", "flow_id"],
        postgresql_where=sa.text("active"),
    )
    # A contact is never in two live enrollments of one flow, even if two writers race.
    op.create_index(
        "enrollments_one_live",
        "enrollments",
        ["workspace_id", "contact_id", "flow_id"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    # kind 'step' wakes an enrollment; kind 'entry' is a date trigger (birthday) of a flow.
    op.create_table(
        "timers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("enrollment_id", sa.Text),
        sa.Column("flow_id", sa.Text),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("timers_due", "timers", ["due_at"])
    # Recent events per contact, for history.* conditions, audiences and opened/clicked checks.
    op.create_table(
        "contact_history",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Text),
        sa.Column("machine", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("data", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", "event_id"),
    )
    op.create_index("contact_history_recent", "contact_history", ["workspace_id", "contact_id", "occurred_at"])
    op.create_index("contact_history_age", "contact_history", ["occurred_at"])
    # Every message flows requested, per contact: frequency caps count these.
    op.create_table(
        "contact_sends",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text),
    )
    op.create_index("contact_sends_recent", "contact_sends", ["workspace_id", "contact_id", "sent_at"])
    # What the scheduler remembers about a contact beyond the profile: first sign-up (grace
    # delays, caps since sign-up) and the attributes last seen (to tell what changed).
    op.create_table(
        "flow_contacts",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("signed_up_at", sa.DateTime(timezone=True)),
        sa.Column("seen_attributes", JSONB),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id"),
    )


def downgrade() -> None:
    for table in (
        "flow_contacts",
        "contact_sends",
        "contact_history",
        "timers",
        "enrollments",
        "flows",
        "flow_versions",
    ):
        op.drop_table(table)
