"""The send ledger keeps each email's subject as rendered for its reader: what a person's data export shows
they were sent (the retention pass deletes it with the rest of the message's row).

Revision ID: 0014_sent_subjects
Revises: 0003_delivery
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_sent_subjects"
down_revision = "0003_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("send_ledger", sa.Column("subject", sa.Text))


def downgrade() -> None:
    op.drop_column("send_ledger", "subject")
