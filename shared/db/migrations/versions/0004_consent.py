"""Consent: an append-only ledger, subscription topics and each contact's subscriptions.

Revision ID: 0004_consent
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_consent"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")

# The ledger is proof for an auditor: rows are never changed or removed, except that
# erasure may blank the personal details (IP, user agent) of an erased contact.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION consent_ledger_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('dripline.erasure', true) = 'on'
     AND NEW.id = OLD.id AND NEW.action = OLD.action AND NEW.occurred_at = OLD.occurred_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'consent_ledger is append-only';
END $$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER consent_ledger_append_only BEFORE UPDATE OR DELETE ON consent_ledger
  FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "consent_ledger",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),  # grant | withdraw | confirm | expire
        sa.Column("scope", sa.Text, nullable=False),  # a subscription topic, or * for all marketing
        sa.Column("source", sa.Text, nullable=False),  # form | api | import | unsubscribe_link | one_click | …
        sa.Column("ip", sa.Text),
        sa.Column("user_agent", sa.Text),
        sa.Column("policy_version", sa.Text),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("dedupe_key", sa.Text, nullable=False),
        sa.UniqueConstraint("workspace_id", "dedupe_key", name="consent_ledger_once"),
    )
    op.create_index("consent_ledger_contact", "consent_ledger", ["workspace_id", "contact_id", "id"])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    op.create_table(
        "subscription_topics",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "topic"),
    )
    op.create_table(
        "contact_subscriptions",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),  # * = marketing in general
        sa.Column("status", sa.Text, nullable=False),  # pending | subscribed | unsubscribed
        sa.Column("expires_at", sa.DateTime(timezone=True)),  # unconfirmed double opt-in
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", "topic"),
    )
    op.create_index(
        "contact_subscriptions_pending",
        "contact_subscriptions",
        ["expires_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("contact_subscriptions")
    op.drop_table("subscription_topics")
    op.drop_table("consent_ledger")
    op.execute("DROP FUNCTION consent_ledger_append_only()")
