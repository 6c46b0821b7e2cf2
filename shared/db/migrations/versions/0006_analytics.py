"""Analytics: per-message facts, daily counters per flow step and variant, attribution, journey firsts.

Revision ID: 0006_analytics
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_analytics"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
ZERO = sa.text("0")
COUNTERS = (
    "entered",
    "reached",
    "requested",
    "sent",
    "delivered",
    "bounced",
    "failed",
    "suppressed",
    "opened",
    "clicked",
    "machine_opened",
    "machine_clicked",
    "unsubscribed",
    "goal_reached",
    "exited",
)


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True))


def upgrade() -> None:
    # One row per message: what became of it, whichever topic told first. The daily counters are
    # derived from these rows, so a fact seen twice (or out of order) never counts twice.
    op.create_table(
        "analytics_messages",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text),
        sa.Column("flow_version", sa.Integer),
        sa.Column("step_id", sa.Text),
        sa.Column("variant", sa.Text),
        sa.Column("channel", sa.Text),
        _at("requested_at"),
        _at("sent_at"),
        _at("bounced_at"),
        _at("failed_at"),
        _at("suppressed_at"),
        _at("opened_at"),
        _at("clicked_at"),
        _at("machine_opened_at"),
        _at("machine_clicked_at"),
        _at("unsubscribed_at"),
        sa.Column("opens", sa.Integer, nullable=False, server_default=ZERO),
        sa.Column("clicks", sa.Integer, nullable=False, server_default=ZERO),
        sa.Column("machine_opens", sa.Integer, nullable=False, server_default=ZERO),
        sa.Column("machine_clicks", sa.Integer, nullable=False, server_default=ZERO),
        _at("last_opened_at"),
        _at("last_clicked_at"),
        sa.PrimaryKeyConstraint("workspace_id", "message_id"),
    )
    op.create_index("analytics_messages_contact", "analytics_messages", ["workspace_id", "contact_id"])
    op.create_index("analytics_messages_flow", "analytics_messages", ["workspace_id", "flow_id"])
    # Counters per workspace, flow, version, step ('' = the flow as a whole), variant ('' = none) and day.
    op.create_table(
        "analytics_daily",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *[sa.Column(name, sa.BigInteger, nullable=False, server_default=ZERO) for name in COUNTERS],
        sa.PrimaryKeyConstraint("workspace_id", "flow_id", "flow_version", "step_id", "variant", "day"),
    )
    # A purchase credited to the last message clicked (or opened) within the window.
    op.create_table(
        "analytics_attributions",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("purchase_id", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("touch", sa.Text, nullable=False),  # clicked | opened
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("revenue", sa.Numeric(18, 4), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "purchase_id"),
    )
    op.create_index("analytics_attributions_flow", "analytics_attributions", ["workspace_id", "flow_id"])
    # Human clicks per link, for "top links".
    op.create_table(
        "analytics_links",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("clicks", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("workspace_id", "flow_id", "step_id", "url"),
    )
    # First time each contact did each kind of thing (signup, purchase, a track event's name...).
    op.create_table(
        "analytics_firsts",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", "event_type"),
    )
    # First entry of each contact into each flow, for weekly entry cohorts.
    op.create_table(
        "analytics_entries",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "flow_id", "contact_id"),
    )
    # Human opens and clicks per UTC hour of the week (0 = Monday 00:00): the workspace's best hour.
    op.create_table(
        "analytics_send_hours",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("hour_of_week", sa.SmallInteger, nullable=False),
        sa.Column("engagements", sa.BigInteger, nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("workspace_id", "hour_of_week"),
    )
    # Split variants declared winners: new arrivals at the split take it; earlier assignments stay.
    op.create_table(
        "analytics_winners",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("workspace_id", "flow_id", "step_id"),
    )


def downgrade() -> None:
    for table in (
        "analytics_winners",
        "analytics_send_hours",
        "analytics_entries",
        "analytics_firsts",
        "analytics_links",
        "analytics_attributions",
        "analytics_daily",
        "analytics_messages",
    ):
        op.drop_table(table)
