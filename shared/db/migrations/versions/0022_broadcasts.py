"""Broadcasts: newsletters and campaigns sent once to an audience, and each one's recipients.

`broadcast_recipients` holds one row per (broadcast, contact): the audience frozen when the send
starts. Its key is what makes a broadcast reach a contact at most once, across crashes, replays and a
resumed send; the row turns `requested` in the transaction that writes the message request.

Revision ID: 0022_broadcasts
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022_broadcasts"
down_revision = "0001"
branch_labels = None
depends_on = None


def _moment(name: str) -> sa.Column[object]:
    """A point in a broadcast's life, unset until it happens."""
    return sa.Column(name, sa.DateTime(timezone=True))


def _stamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()"))


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("broadcast_id", sa.Text, nullable=False),
        sa.Column("spec", JSONB, nullable=False),  # the Broadcast as created: content, audience, schedule, pace
        sa.Column("state", sa.Text, nullable=False),  # draft | scheduled | sending | paused | sent | cancelled
        _moment("starts_at"),  # when resolution of the audience begins
        _moment("frozen_at"),  # the audience is who was a contact then (resolution began)
        _moment("resolved_at"),  # every recipient has a row
        sa.Column("resolve_cursor", sa.Text),  # last contact id resolved (keyset batches)
        sa.Column("tokens", sa.Float, nullable=False, server_default="0"),  # the throttle's bucket
        _moment("paced_at"),
        _moment("finished_at"),
        _moment("test_ends_at"),  # test then send: when the winner is picked
        sa.Column("winner", sa.Text),
        sa.Column("decision", JSONB),  # the test's evidence: each variant's counts, rate, interval, p-value
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "broadcast_id"),
        sa.CheckConstraint(
            "state IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')", name="broadcasts_state"
        ),
    )
    op.create_index("broadcasts_live", "broadcasts", ["starts_at"], postgresql_where=sa.text("state = 'sending'"))
    op.create_table(
        "broadcast_recipients",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("broadcast_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("variant", sa.Text, nullable=False),  # the template this contact gets
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),  # waiting | requested | held
        sa.Column("reason", sa.Text),  # why held, or why still waiting (quiet hours, a cap)
        sa.Column("placed", sa.Boolean, nullable=False, server_default=sa.false()),  # best time chosen
        sa.Column("message_id", sa.Text),
        _stamp("updated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "broadcast_id", "contact_id"),
    )
    op.create_index(
        "broadcast_recipients_due",
        "broadcast_recipients",
        ["workspace_id", "broadcast_id", "due_at"],
        postgresql_where=sa.text("state = 'waiting'"),
    )
    op.create_index("broadcast_recipients_contact", "broadcast_recipients", ["workspace_id", "contact_id"])


def downgrade() -> None:
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
