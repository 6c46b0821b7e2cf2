"""Outbox: a transaction's records framed together (`shared/outbox_frames.py`), in rows that stay inline.

A row per record cost PostgreSQL a tuple, an index entry, a delete and a vacuum for every record;
a timer batch writes hundreds. Frames are cut at about 7.6 kB and kept uncompressed in the heap page
(storage external, toast_tuple_target 8160): one big compressed row cost more than the rows it saved.
Records waiting in the old table are carried over in their order.

Revision ID: 0009_outbox_rows_per_transaction
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.contract.topics import by_name
from shared.kafka.producer import OutgoingRecord
from shared.outbox_frames import pack_rows, unpack

revision = "0009_outbox_rows_per_transaction"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT topic, key, value, headers FROM outbox ORDER BY id")).all()
    waiting = [
        OutgoingRecord(
            by_name(topic),
            key,
            value,
            [(str(name), str(header).encode()) for name, header in _json(headers)],
        )
        for topic, key, value, headers in rows
    ]
    op.drop_table("outbox")
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("records", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.execute("ALTER TABLE outbox ALTER COLUMN records SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE outbox SET (toast_tuple_target = 8160)")
    for count, frame in pack_rows(waiting):
        bind.execute(
            sa.text("INSERT INTO outbox (record_count, records) VALUES (:count, :records)"),
            {"count": count, "records": frame},
        )


def downgrade() -> None:
    bind = op.get_bind()
    frames = bind.execute(sa.text("SELECT records FROM outbox ORDER BY id")).scalars().all()
    waiting = [record for frame in frames for record in unpack(frame)]
    op.drop_table("outbox")
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.LargeBinary),
        sa.Column("headers", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    insert = "INSERT INTO outbox (topic, key, value, headers) VALUES (:topic, :key, :value, CAST(:headers AS jsonb))"
    for record in waiting:
        bind.execute(
            sa.text(insert),
            {
                "topic": record.topic.name,
                "key": record.key,
                "value": record.value,
                "headers": orjson.dumps([[name, value.decode()] for name, value in record.headers]).decode(),
            },
        )


def _json(value: object) -> list[list[str]]:
    """jsonb arrives as text or already parsed, depending on the driver's codecs."""
    parsed = orjson.loads(value) if isinstance(value, (str, bytes)) else value
    return list(parsed) if isinstance(parsed, list) else []
