"""Privacy: keyed identifier hashes, consent evidence kept as a network.

- `identifier_hashing` names the keys the hashes in `contact_identities` and `suppressions` are made
  with. It starts empty (bare SHA-256, as stored so far); the keys of DRIPLINE_IDENTIFIER_KEYS are
  applied to every stored hash by `dripline migrate` right after this migration, with the settings
  it runs with (`shared/identity_keys.py`): a migration script cannot know the secret.
- The consent ledger keeps the network of an IP address (IPv4 /24, IPv6 /48), never the address.

Revision ID: 0012_privacy
Revises: 0007_consent_origin
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from shared.consent.evidence import consent_network

revision = "0012_privacy"
down_revision = "0007_consent_origin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identifier_hashing",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("key_ids", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
        sa.Column("probe", sa.LargeBinary),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.CheckConstraint("id = 1", name="identifier_hashing_one_row"),
    )
    op.execute("INSERT INTO identifier_hashing (id) VALUES (1)")
    _keep_networks_only()


def _keep_networks_only() -> None:
    bind = op.get_bind()
    ips = [row[0] for row in bind.execute(sa.text("SELECT DISTINCT ip FROM consent_ledger WHERE ip IS NOT NULL"))]
    changed = [(ip, consent_network(ip)) for ip in ips if consent_network(ip) != ip]
    if not changed:
        return
    bind.execute(sa.text("SET LOCAL dripline.erasure = 'on'"))  # the ledger's trigger lets only erasure blank proof
    for ip, network in changed:
        bind.execute(sa.text("UPDATE consent_ledger SET ip = :network WHERE ip = :ip"), {"ip": ip, "network": network})


def downgrade() -> None:
    op.drop_table("identifier_hashing")
