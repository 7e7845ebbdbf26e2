"""Tables every service needs for reliable messaging: outbox, inbox, delivery attempts.

They are created in the service's own schema (each service role's ``search_path`` points
at it), so the same unqualified names work in every service.
"""

from __future__ import annotations

import json

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Connection

from orderflow_messaging.header_codec import encode_headers, unpack_headers

metadata = MetaData()

# The relay locks one slot at a time; a key always maps to the same slot, which keeps
# per-key order with several relays running. Changing it re-partitions pending rows,
# so it is a constant, not a setting.
OUTBOX_SLOTS = 16
OUTBOX_CHANNEL = "orderflow_outbox"

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("topic", Text, nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("value", LargeBinary, nullable=True),
    # The record's headers, packed (outbox.pack_headers): header values may be any bytes.
    Column("header_bytes", LargeBinary, nullable=True),
    # Rows written before ``header_bytes``: [[name, base64(value)], ...].
    Column("headers", JSONB, nullable=True),
    Column("slot", SmallInteger, nullable=False),
    Column("message_type", Text, nullable=True),
    Column("correlation_id", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The outbox rows not yet published: one narrow row each, added by a trigger on the
# outbox's inserts (every way of writing the outbox), deleted by the relay once the
# broker acknowledged the row. The outbox row itself is never updated: marking it
# published was a non-HOT update (a new copy of the whole row, two index entries, a
# dead version), a quarter of the WAL of an order (docs/performance.md).
outbox_pending = Table(
    "outbox_pending",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("slot", SmallInteger, nullable=False),
)


def published_sql(row: str, schema: str | None = None) -> str:
    """SQL that holds once the outbox row ``row`` (a table name or alias) is published:
    its id has left ``outbox_pending`` (of ``schema``, else of the search path). The one
    definition every reader of the outbox shares (verify, timeline, housekeeping)."""
    pending = f"{schema}.outbox_pending" if schema else "outbox_pending"
    return f"NOT EXISTS (SELECT 1 FROM {pending} p WHERE p.id = {row}.id)"  # noqa: S608


inbox = Table(
    "inbox",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("message_type", Text, nullable=True),
    # processed | dead_lettered | ignored
    Column("status", Text, nullable=False),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Housekeeping prunes the oldest rows first (housekeeping.py). Message ids cannot
    # stand in for age: upstream systems choose theirs.
    Index("inbox_handled_at", "handled_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Keys (orders) whose processing stopped at a dead letter: later messages of the key are
# parked in the DLQ behind it, so a redrive replays them in their original order.
parked_keys = Table(
    "parked_keys",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("key", LargeBinary, primary_key=True),
    Column("message_id", UUID(as_uuid=True), nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def outbox_channel(schema: str) -> str:
    """The NOTIFY channel of one schema's outbox. One channel per schema: PostgreSQL
    delivers a notification to every connection listening on its channel, and with one
    channel for all, every service's relay was woken (and answered) for every commit of
    every other service."""
    return f"{OUTBOX_CHANNEL}_{schema}"


def _notify_ddl(channel_sql: str) -> list[str]:
    return [
        f"""
        CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify({channel_sql}, current_schema());
            RETURN NULL;
        END $$
        """,
        "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
        """
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
        FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
        """,
    ]


_NOTIFY_DDL = _notify_ddl(f"'{OUTBOX_CHANNEL}_' || current_schema()")
# One statement trigger (with the statement's new rows as a table) instead of a row
# trigger: a consumer batch inserts all its outbox rows in one statement.
_PENDING_DDL = [
    """
    CREATE OR REPLACE FUNCTION outbox_pend() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO outbox_pending (id, slot) SELECT id, slot FROM added;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS outbox_pend ON outbox",
    """
    CREATE TRIGGER outbox_pend AFTER INSERT ON outbox REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_pend()
    """,
]
# Before migration 'outbox channel per schema': one channel for every schema.
_SHARED_CHANNEL_NOTIFY_DDL = _notify_ddl(f"'{OUTBOX_CHANNEL}'")


def install_shared_channel_notify(connection: Connection) -> None:
    """The wake-up trigger as it was before the per-schema channel (downgrades)."""
    for statement in _SHARED_CHANNEL_NOTIFY_DDL:
        connection.exec_driver_sql(statement)


# Indexes and columns added to tables after their first release (``create_all`` creates
# a missing table whole, but adds nothing to a table that exists).
_LATER_INDEXES = ["CREATE INDEX IF NOT EXISTS inbox_handled_at ON inbox (handled_at)"]
_LATER_COLUMNS = [
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS header_bytes bytea",
    "ALTER TABLE outbox ALTER COLUMN headers DROP NOT NULL",
]


def create_messaging_tables(connection: Connection) -> None:
    """Create the messaging tables and indexes that are missing and (re)create the relay
    wake-up and pending triggers (sync: Alembic's form). Idempotent, so a later migration
    can call it again to add what was introduced since, and it moves an outbox of the
    earlier shape (``published_at``) to the pending table."""
    earlier = _has_column(connection, "outbox", "published_at")
    if earlier:  # its partial index has the name the pending table takes
        connection.exec_driver_sql("DROP INDEX IF EXISTS outbox_pending")
    metadata.create_all(connection)
    for statement in [*_LATER_INDEXES, *_LATER_COLUMNS, *_NOTIFY_DDL, *_PENDING_DDL]:
        connection.exec_driver_sql(statement)
    if earlier:
        connection.exec_driver_sql(
            "INSERT INTO outbox_pending (id, slot) SELECT id, slot FROM outbox "
            "WHERE published_at IS NULL ON CONFLICT DO NOTHING"
        )
        connection.exec_driver_sql("ALTER TABLE outbox DROP COLUMN published_at")


def restore_published_at(connection: Connection) -> None:
    """Downgrade of the migration that added ``outbox_pending``: the outbox gets its
    ``published_at`` back (a published row's is its ``created_at``: when it was
    acknowledged was not kept) and the partial index of pending rows."""
    connection.exec_driver_sql("DROP TRIGGER IF EXISTS outbox_pend ON outbox")
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS outbox_pend()")
    connection.exec_driver_sql("ALTER TABLE outbox ADD COLUMN published_at timestamptz")
    connection.exec_driver_sql(
        "UPDATE outbox o SET published_at = o.created_at "
        "WHERE NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.id = o.id)"
    )
    connection.exec_driver_sql("DROP TABLE outbox_pending")
    connection.exec_driver_sql(
        "CREATE INDEX outbox_pending ON outbox (slot, id) WHERE published_at IS NULL"
    )


def restore_json_headers(connection: Connection) -> None:
    """Downgrade of the migration that added ``header_bytes``: every row's headers as
    JSON again (a relay of the earlier release reads nothing else)."""
    rows = connection.execute(text("SELECT id, header_bytes FROM outbox WHERE headers IS NULL"))
    updates = [
        {"id": row.id, "headers": json.dumps(encode_headers(unpack_headers(row.header_bytes)))}
        for row in rows
    ]
    if updates:
        connection.execute(
            text("UPDATE outbox SET headers = CAST(:headers AS jsonb) WHERE id = :id"), updates
        )
    connection.exec_driver_sql("ALTER TABLE outbox ALTER COLUMN headers SET NOT NULL")
    connection.exec_driver_sql("ALTER TABLE outbox DROP COLUMN header_bytes")


def _has_column(connection: Connection, table: str, column: str) -> bool:
    found = connection.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = :table AND column_name = :column)"
        ),
        {"table": table, "column": column},
    )
    return bool(found.scalar())


def drop_inbox_age_index(connection: Connection) -> None:
    """Downgrade of the migration that added ``inbox_handled_at``."""
    connection.exec_driver_sql("DROP INDEX IF EXISTS inbox_handled_at")


def drop_messaging_tables(connection: Connection) -> None:
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS outbox_notify() CASCADE")
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS outbox_pend() CASCADE")
    metadata.drop_all(connection)
