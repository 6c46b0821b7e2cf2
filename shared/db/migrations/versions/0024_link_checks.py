"""The last result of the link check for each link of each template, for the console's template page.

The daily link check replaces a template's rows with what it found; broken links still go out as
events on `templates.link-checks` as before. No contact data: links as the templates write them.

Revision ID: 0024_link_checks
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_link_checks"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_checks",
        sa.Column("workspace_id", sa.Text, nullable=False),
        sa.Column("template_id", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),  # the HTTP status, when the link answered
        sa.Column("problem", sa.Text),  # why it is broken; NULL: fine (or built from event data, not fetched)
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "template_id", "url"),
    )


def downgrade() -> None:
    op.drop_table("link_checks")
