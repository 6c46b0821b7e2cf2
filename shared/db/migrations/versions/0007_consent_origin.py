"""Consent ledger: where exactly consent was given (the sign-up form's name), shown in every marketing footer.

Revision ID: 0007_consent_origin
Revises: 0004_consent
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_consent_origin"
down_revision = "0004_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("consent_ledger", sa.Column("origin", sa.Text))


def downgrade() -> None:
    op.drop_column("consent_ledger", "origin")
