"""The marketer's console: its users (argon2 password hashes), their role per workspace, their sessions,
and the audit log of every change made in the console or through the API.

The audit log is append-only: a trigger refuses to update or delete its rows, so an entry, once
written, says what happened for as long as the table is kept. It names no contact column, so the
export and erasure of a contact (which find tables by `workspace_id` and `contact_id`) leave it be.

Revision ID: 0015_console
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015_console"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=None if nullable else NOW)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),  # lower case
        sa.Column("password_hash", sa.Text, nullable=False),
        _when("created_at"),
        _when("disabled_at", nullable=True),
    )
    op.create_table(
        "console_memberships",
        sa.Column("user_id", sa.Text, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("workspace_id", sa.Text, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "workspace_id"),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="console_memberships_role"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("user_id", sa.Text, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        _when("created_at"),
        _when("expires_at"),
    )
    op.create_index("console_sessions_expiry", "console_sessions", ["expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("workspace_id", sa.Text, nullable=False),
        _when("at"),
        sa.Column("actor", sa.Text, nullable=False),  # user:<email>, key:<key id>, cli:<login>
        sa.Column("via", sa.Text, nullable=False),  # console | api | cli
        sa.Column("action", sa.Text, nullable=False),  # flow.paused, key.created, ...
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("audit_log_recent", "audit_log", ["workspace_id", sa.text("id DESC")])
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("console_sessions")
    op.drop_table("console_memberships")
    op.drop_table("console_users")
