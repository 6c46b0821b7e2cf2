"""Foundation: workspaces, API keys, contact identities and profiles, processed events, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("settings", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("workspace_id", sa.Text, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("key_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    # Identifiers are stored as keyed hashes: the table maps identities to contact ids
    # without holding the email or phone itself.
    op.create_table(
        "contact_identities",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value_hash", sa.LargeBinary, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "kind", "value_hash"),
    )
    op.create_index("contact_identities_contact", "contact_identities", ["workspace_id", "contact_id"])
    op.create_table(
        "contacts",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("profile", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text, nullable=False),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("consumer", "workspace_id", "event_id"),
    )
    # Who must never be mailed (again): by address hash, so it survives erasure of the contact.
    op.create_table(
        "suppressions",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("address_hash", sa.LargeBinary, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),  # marketing | all
        sa.Column("reason", sa.Text, nullable=False),  # unsubscribed | bounced | complained | erased
        sa.Column("source", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "address_hash", "scope"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.LargeBinary),
        sa.Column("headers", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )


def downgrade() -> None:
    for table in (
        "outbox",
        "suppressions",
        "processed_events",
        "contacts",
        "contact_identities",
        "api_keys",
        "workspaces",
    ):
        op.drop_table(table)
