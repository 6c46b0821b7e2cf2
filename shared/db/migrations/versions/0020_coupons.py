"""Discount codes: pools a shop imports, and the code each send step gave each contact.

`coupon_codes` holds a workspace's imported codes by pool; a code is drawn by one statement that takes the
first free row (`FOR UPDATE SKIP LOCKED`), so two contacts never get the same code. `coupon_issues` has one
row per (enrollment, step): its key is what makes a retry or a replayed request carry the same code, and its
`(workspace_id, code)` key what makes a generated code unique. A purchase naming the code in its
`discount_codes` marks the issue redeemed. `contact_id` is named so export and erasure find the rows.

Revision ID: 0020_coupons
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_coupons"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True))


def upgrade() -> None:
    op.create_table(
        "coupon_codes",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("pool", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        _when("expires_at"),  # from the pool file, when it gives one
        sa.Column("issued", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("workspace_id", "pool", "code"),
    )
    op.create_index(
        "coupon_codes_free", "coupon_codes", ["workspace_id", "pool", "code"], postgresql_where=sa.text("NOT issued")
    )
    op.create_table(
        "coupon_issues",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("enrollment_id", sa.Text, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("pool", sa.Text),  # empty for a generated code
        _when("expires_at"),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        _when("redeemed_at"),
        sa.Column("redeemed_by", sa.Text),  # the contact whose purchase named the code (it may be passed on)
        sa.Column("redeemed_event_id", sa.Text),
        sa.PrimaryKeyConstraint("workspace_id", "enrollment_id", "step_id", "contact_id"),
        sa.UniqueConstraint("workspace_id", "code", name="coupon_issues_code"),
    )
    op.create_index("coupon_issues_flow", "coupon_issues", ["workspace_id", "flow_id"])
    op.create_index("coupon_issues_contact", "coupon_issues", ["workspace_id", "contact_id"])


def downgrade() -> None:
    op.drop_index("coupon_issues_contact", table_name="coupon_issues")
    op.drop_index("coupon_issues_flow", table_name="coupon_issues")
    op.drop_table("coupon_issues")
    op.drop_index("coupon_codes_free", table_name="coupon_codes")
    op.drop_table("coupon_codes")
