"""Customer facts: what a contact's events add up to, kept beyond the history window.

`contact_facts` holds one row per contact (first and last purchase, order count, spend per currency,
last order's products, last open, click and visit); `contact_orders` one row per purchase event, so
a replayed purchase finds its row and counts once. `segment_backfills` is the progress of judging a
new or changed segment over every contact of its workspace. Both contact tables name `workspace_id`
and `contact_id`, so export and erasure find them.

Revision ID: 0019_customer_facts
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0019_customer_facts"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True))


def upgrade() -> None:
    op.create_table(
        "contact_facts",
        sa.Column("workspace_id", sa.Text, primary_key=True),
        sa.Column("contact_id", sa.Text, primary_key=True),
        _when("first_purchase_at"),
        _when("last_purchase_at"),
        sa.Column("order_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("spent", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("last_order_products", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        _when("last_open_at"),
        _when("last_click_at"),
        _when("last_seen_at"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_table(
        "contact_orders",
        sa.Column("workspace_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("revenue", sa.Numeric, nullable=False),
    )
    op.create_index("contact_orders_contact", "contact_orders", ["workspace_id", "contact_id", "ordered_at"])
    op.create_table(
        "segment_backfills",
        sa.Column("workspace_id", sa.Text, primary_key=True),
        sa.Column("segment_id", sa.Text, primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("members", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        _when("finished_at"),
    )


def downgrade() -> None:
    op.drop_table("segment_backfills")
    op.drop_index("contact_orders_contact", table_name="contact_orders")
    op.drop_table("contact_orders")
    op.drop_table("contact_facts")
