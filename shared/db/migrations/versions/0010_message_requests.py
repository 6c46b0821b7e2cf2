"""Message requests awaiting the sender: what the scheduler asked for, kept until the send ledger has it.

The broker of the local stack keeps nothing across its own restart, and no broker keeps a record
its replicas all lost. A request the sender never received is found here (no `send_ledger` row
after a while) and requested again through the outbox; the sender's ledger claims by message id,
so a request that did arrive is not sent twice.

Revision ID: 0010_message_requests
Revises: 0002_flows
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_message_requests"
down_revision = "0002_flows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_requests",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        # The record as the outbox had it (`shared/outbox_frames.py`), so a re-request is byte for byte the same.
        sa.Column("record", sa.LargeBinary, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("re_requests", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("message_requests_age", "message_requests", ["requested_at"])
    op.create_index("message_requests_contact", "message_requests", ["workspace_id", "contact_id"])


def downgrade() -> None:
    op.drop_table("message_requests")
