"""Consent per channel, the text shown, and each topic's promise of how often.

- Email, SMS, post and web tracking are separate grants (`channel:email`, … beside `*` and the topics).
  Every grant made before was a grant of marketing email (the sign-up form, the import and the API
  only ever asked about email), so each `*` subscription gets an email row with its status, and each
  `*` ledger entry an email entry with the same action, source, time and evidence (recorded now).
  None becomes an SMS, post or web grant: a person who agreed to email never agreed to texts.
- `consent_ledger.text_shown`: the consent wording the person saw.
- `subscription_topics.promise`: how often the topic writes, per language (`{"en": "…", "nb": "…"}`).

Revision ID: 0021_channel_consent
Revises: 0012_privacy
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0021_channel_consent"
down_revision = "0012_privacy"
branch_labels = None
depends_on = None

EMAIL_SUBSCRIPTIONS = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status, expires_at, updated_at)
SELECT workspace_id, contact_id, 'channel:email', status, expires_at, updated_at
FROM contact_subscriptions WHERE topic = '*'
ON CONFLICT DO NOTHING
"""
EMAIL_ENTRIES = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, policy_version, occurred_at, dedupe_key, origin)
SELECT workspace_id, contact_id, action, 'channel:email', source, ip, user_agent, policy_version, occurred_at,
       '0021:' || dedupe_key, origin
FROM consent_ledger WHERE scope = '*' ORDER BY id
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""


def upgrade() -> None:
    op.add_column("consent_ledger", sa.Column("text_shown", sa.Text))
    op.add_column("subscription_topics", sa.Column("promise", JSONB))
    op.execute(EMAIL_SUBSCRIPTIONS)
    op.execute(EMAIL_ENTRIES)


def downgrade() -> None:
    # The ledger is append-only: its entries stay (they name a scope the older code ignores).
    op.execute("DELETE FROM contact_subscriptions WHERE topic LIKE 'channel:%'")
    op.drop_column("subscription_topics", "promise")
    op.drop_column("consent_ledger", "text_shown")
