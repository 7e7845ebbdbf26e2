"""Housekeeping: published outbox rows and inbox rows do not stay forever.

Every service prunes, in bounded batches, the published outbox rows written longer ago
than ``RETENTION_MESSAGES_S`` (never a pending one) and the inbox rows handled longer
ago than that (the inbox rows of dead-lettered messages after
``RETENTION_DEAD_LETTERS_S``, so a redrive weeks later is still recognised); a
service may add tables of its own with their own window (the coordinator's saga
history, ``RETENTION_HISTORY_S``).

Why the window must be longer than the retention of every topic the service consumes:
the inbox is how a consumer recognises a record it has handled. Kafka can deliver a
record again for as long as the topic keeps it (a rebalance after a crash, a consumer
group reset to the earliest offset, a replay); if its inbox row were gone by then, the
record would be applied twice. ``check_retention`` (called at startup) therefore
refuses to start a service whose window is shorter than the ``retention.ms`` the
broker reports for a topic it consumes, or one of whose topics keeps records forever.

Parked keys and delivery attempts are never pruned: a parked key holds its key's later
messages until an operator redrives it, and an attempts row is cleared when its record
is handled.

A pass deletes at most ``RETENTION_BATCH_ROWS`` rows per table in one short transaction
(no long lock, no long-running snapshot holding back vacuum), and runs again at once
while it found a full batch. Replicas of a service take turns: a pass runs only while
it holds its schema's advisory lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderflow_messaging import metrics
from orderflow_messaging.db import Connection
from orderflow_messaging.inbox import InboxStatus
from orderflow_messaging.outbox import OutboxBacklog, outbox_backlog
from orderflow_messaging.tables import published_sql

log = structlog.get_logger(__name__)

_DAY_S = 86_400.0


class RetentionSettings(BaseSettings):
    """``RETENTION_*`` variables (docs/runbook.md)."""

    model_config = SettingsConfigDict(env_prefix="RETENTION_", extra="ignore")

    enabled: bool = True
    # Published outbox rows and inbox rows. Longer than the topics' retention (Kafka's
    # default is 7 days): checked at startup against what the broker reports.
    messages_s: float = Field(default=8 * _DAY_S, gt=0)
    # Inbox rows of dead-lettered messages (a redrive may come much later).
    dead_letters_s: float = Field(default=30 * _DAY_S, gt=0)
    # The coordinator's saga history (the audit trail of every transition).
    history_s: float = Field(default=90 * _DAY_S, gt=0)
    batch_rows: int = Field(default=5_000, ge=1)
    interval_s: float = Field(default=60.0, gt=0)


class RetentionTooShort(RuntimeError):
    """The inbox would forget records the broker can still deliver again."""


@dataclass(frozen=True)
class AgedTable:
    """A table whose rows are pruned oldest first by a growing ``id_column`` (an
    identity), once ``time_column`` (a column or an expression over the row) is older
    than ``retention_s`` (NULL: never)."""

    table: str
    id_column: str
    time_column: str
    retention_s: float


def check_retention(settings: RetentionSettings, topic_retention_ms: dict[str, int]) -> None:
    """Refuse a message window shorter than a consumed topic's retention (-1: forever)."""
    if not settings.enabled:
        return
    window_ms = settings.messages_s * 1000
    for topic, retention_ms in sorted(topic_retention_ms.items()):
        if retention_ms < 0 or retention_ms > window_ms:
            kept = "forever" if retention_ms < 0 else f"{retention_ms / 1000:g} s"
            raise RetentionTooShort(
                f"RETENTION_MESSAGES_S={settings.messages_s:g} is shorter than the retention "
                f"of topic {topic} ({kept}): a record redelivered after its inbox row was "
                "pruned would be applied twice. Set RETENTION_MESSAGES_S above the topic's "
                "retention.ms, or RETENTION_ENABLED=false."
            )


# An outbox row's age once published; NULL (never pruned) while it is pending. (When
# the broker acknowledged it is not kept: retention is days, the relay takes seconds.)
_PUBLISHED_AT = f"CASE WHEN {published_sql('outbox')} THEN created_at END"
# The oldest rows by id; those old enough go. (Scanning a time column instead would
# need another index on a hot table: ids grow with time, so the id order is the age
# order, near enough for a retention measured in days.)
_PRUNE_AGED = """
    WITH oldest AS (
        SELECT {id} AS id, {time} AS t FROM {table} ORDER BY {id} LIMIT $2
    ), gone AS (
        DELETE FROM {table} x USING oldest
        WHERE x.{id} = oldest.id AND oldest.t < now() - $1::interval
        RETURNING 1
    )
    SELECT count(*) FROM gone
"""
_PRUNE_INBOX = """
    WITH old AS (
        SELECT consumer, message_id FROM inbox
        WHERE handled_at < now() - $1::interval AND (
            status <> $3 OR handled_at < now() - $4::interval
        )
        ORDER BY handled_at LIMIT $2
    ), gone AS (
        DELETE FROM inbox i USING old
        WHERE i.consumer = old.consumer AND i.message_id = old.message_id
        RETURNING 1
    )
    SELECT count(*) FROM gone
"""
_TABLE_SIZES = """
    SELECT c.relname, pg_total_relation_size(c.oid) AS bytes, c.reltuples::bigint AS rows
    FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
"""


class Housekeeping:
    """Prunes one service schema's messaging tables (and ``extra`` tables)."""

    def __init__(
        self,
        settings: RetentionSettings,
        *,
        schema: str,
        extra: Sequence[AgedTable] = (),
    ) -> None:
        self._settings = settings
        self._schema = schema
        outbox = AgedTable("outbox", "id", _PUBLISHED_AT, settings.messages_s)
        self._aged = (outbox, *extra)
        self._lock_key = int.from_bytes(
            hashlib.blake2b(f"orderflow-housekeeping:{schema}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )

    async def prune(self, conn: Connection) -> dict[str, int]:
        """One pass: rows deleted per table (empty when another replica is pruning)."""
        pruned: dict[str, int] = {}
        if not self._settings.enabled:
            return pruned
        limit = self._settings.batch_rows
        async with conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self._lock_key):
                return pruned
            for aged in self._aged:
                sql = _PRUNE_AGED.format(table=aged.table, id=aged.id_column, time=aged.time_column)
                pruned[aged.table] = int(
                    await conn.fetchval(sql, timedelta(seconds=aged.retention_s), limit)
                )
            pruned["inbox"] = int(
                await conn.fetchval(
                    _PRUNE_INBOX,
                    timedelta(seconds=self._settings.messages_s),
                    limit,
                    InboxStatus.DEAD_LETTERED.value,
                    timedelta(seconds=self._settings.dead_letters_s),
                )
            )
        for table, rows in pruned.items():
            if rows:
                metrics.ROWS_PRUNED.labels(self._schema, table).inc(rows)
        if any(pruned.values()):
            log.info("housekeeping_pruned", schema=self._schema, **pruned)
        return pruned

    def more_waiting(self, pruned: dict[str, int]) -> bool:
        """A table gave a full batch: run again at once."""
        return any(rows >= self._settings.batch_rows for rows in pruned.values())

    async def observe_outbox(self, conn: Connection) -> OutboxBacklog:
        """Pending outbox rows and the age of the oldest (into the gauges)."""
        backlog = await outbox_backlog(conn)
        metrics.OUTBOX_PENDING.labels(self._schema).set(backlog.rows)
        metrics.OUTBOX_OLDEST_PENDING.labels(self._schema).set(backlog.oldest_s)
        return backlog

    async def observe_sizes(self, conn: Connection) -> dict[str, int]:
        """Table sizes (bytes, indexes and TOAST included) into the gauges."""
        sizes: dict[str, int] = {}
        for row in await conn.fetch(_TABLE_SIZES):
            sizes[row["relname"]] = int(row["bytes"])
            metrics.TABLE_BYTES.labels(self._schema, row["relname"]).set(row["bytes"])
            metrics.TABLE_ROWS.labels(self._schema, row["relname"]).set(max(0, row["rows"]))
        return sizes
