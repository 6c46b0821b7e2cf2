"""`run_again_unless(ok, reason)`: a check inside one statement that undoes the whole statement when it fails.

Ingest writes a group of new contacts with one statement and no explicit transaction; when another
writer claimed one of their identifiers first, this aborts the statement (nothing of it is kept)
with a serialization failure, which callers answer by running the work again.

Revision ID: 0008_run_again_unless
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0008_run_again_unless"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION run_again_unless(ok boolean, reason text) RETURNS boolean AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION '%', reason USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN true;
END $$ LANGUAGE plpgsql VOLATILE
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION run_again_unless(boolean, text)")
