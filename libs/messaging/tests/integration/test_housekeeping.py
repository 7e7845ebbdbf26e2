"""Housekeeping on a real PostgreSQL: what goes, what stays, in bounded passes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from orderflow_messaging.db import Connection, hot_pool
from orderflow_messaging.housekeeping import AgedTable, Housekeeping, RetentionSettings
from orderflow_testing.plugin import SchemaDatabase

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def conn(messaging_db: SchemaDatabase) -> AsyncIterator[Connection]:
    pool = await hot_pool(messaging_db.engine).pool()
    async with pool.acquire() as connection:
        yield connection


async def add_outbox(conn: Connection, created: datetime, *, published: bool) -> int:
    row_id = int(
        await conn.fetchval(
            "INSERT INTO outbox (message_id, topic, key, value, headers, slot, created_at) "
            "VALUES ($1, 't', 'k', 'v', '[]', 0, $2) RETURNING id",
            uuid.uuid4(),
            created,
        )
    )
    if published:  # as the relay marks a row it sent
        await conn.execute("DELETE FROM outbox_pending WHERE id = $1", row_id)
    return row_id


async def add_inbox(conn: Connection, handled: datetime, status: str = "processed") -> uuid.UUID:
    message_id = uuid.uuid4()  # random, as upstream systems' ids are: age is handled_at
    await conn.execute(
        'INSERT INTO inbox (consumer, message_id, topic, partition, "offset", status, '
        "handled_at) VALUES ('c', $1, 't', 0, 0, $2, $3)",
        message_id,
        status,
        handled,
    )
    return message_id


async def ids(conn: Connection, sql: str) -> set[object]:
    return {row[0] for row in await conn.fetch(sql)}


async def test_old_published_rows_and_old_inbox_rows_go_the_rest_stays(
    conn: Connection, messaging_db: SchemaDatabase
) -> None:
    old_published = await add_outbox(conn, NOW - 10 * DAY, published=True)
    old_pending = await add_outbox(conn, NOW - 10 * DAY, published=False)  # never published: kept
    young_published = await add_outbox(conn, NOW - DAY, published=True)
    old_processed = await add_inbox(conn, NOW - 10 * DAY)
    old_ignored = await add_inbox(conn, NOW - 10 * DAY, "ignored")
    young_processed = await add_inbox(conn, NOW - DAY)
    dead_within_its_window = await add_inbox(conn, NOW - 10 * DAY, "dead_lettered")
    dead_past_its_window = await add_inbox(conn, NOW - 40 * DAY, "dead_lettered")

    keeper = Housekeeping(RetentionSettings(), schema=messaging_db.schema)
    pruned = await keeper.prune(conn)

    assert pruned == {"outbox": 1, "inbox": 3}
    assert await ids(conn, "SELECT id FROM outbox") == {old_pending, young_published}
    assert old_published not in await ids(conn, "SELECT id FROM outbox")
    assert await ids(conn, "SELECT message_id FROM inbox") == {
        young_processed,
        dead_within_its_window,
    }
    assert {old_processed, old_ignored, dead_past_its_window}.isdisjoint(
        await ids(conn, "SELECT message_id FROM inbox")
    )
    assert not keeper.more_waiting(pruned)


async def test_a_pass_is_bounded_and_the_next_takes_the_rest(
    conn: Connection, messaging_db: SchemaDatabase
) -> None:
    for _ in range(25):
        await add_outbox(conn, NOW - 10 * DAY, published=True)
        await add_inbox(conn, NOW - 10 * DAY)
    keeper = Housekeeping(RetentionSettings(batch_rows=10), schema=messaging_db.schema)

    passes = []
    while True:
        pruned = await keeper.prune(conn)
        passes.append(pruned)
        if not keeper.more_waiting(pruned):
            break

    assert passes == [
        {"outbox": 10, "inbox": 10},
        {"outbox": 10, "inbox": 10},
        {"outbox": 5, "inbox": 5},
    ]
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert await conn.fetchval("SELECT count(*) FROM inbox") == 0


async def test_a_service_table_with_its_own_window(
    conn: Connection, messaging_db: SchemaDatabase
) -> None:
    await conn.execute(
        "CREATE TABLE journal (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "at timestamptz NOT NULL, note text)"
    )
    for age in (100, 95, 10):
        await conn.execute(
            "INSERT INTO journal (at, note) VALUES ($1, $2)", NOW - age * DAY, str(age)
        )
    journal = AgedTable("journal", "id", "at", timedelta(days=90).total_seconds())
    keeper = Housekeeping(RetentionSettings(), schema=messaging_db.schema, extra=[journal])

    pruned = await keeper.prune(conn)

    assert pruned["journal"] == 2
    assert await ids(conn, "SELECT note FROM journal") == {"10"}


async def test_replicas_take_turns(conn: Connection, messaging_db: SchemaDatabase) -> None:
    await add_outbox(conn, NOW - 10 * DAY, published=True)
    keeper = Housekeeping(RetentionSettings(), schema=messaging_db.schema)
    pool = await hot_pool(messaging_db.engine).pool()
    async with pool.acquire() as other, other.transaction():
        # The other replica's pass holds the schema's lock until its transaction ends.
        assert await keeper.prune(other) == {"outbox": 1, "inbox": 0}
        assert await keeper.prune(conn) == {}
    await add_outbox(conn, NOW - 10 * DAY, published=True)
    assert await keeper.prune(conn) == {"outbox": 1, "inbox": 0}


async def test_turned_off_it_prunes_nothing(conn: Connection, messaging_db: SchemaDatabase) -> None:
    await add_outbox(conn, NOW - 10 * DAY, published=True)
    keeper = Housekeeping(RetentionSettings(enabled=False), schema=messaging_db.schema)
    assert await keeper.prune(conn) == {}
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 1


async def test_table_sizes_are_reported(conn: Connection, messaging_db: SchemaDatabase) -> None:
    await add_outbox(conn, NOW, published=False)
    keeper = Housekeeping(RetentionSettings(), schema=messaging_db.schema)
    sizes = await keeper.observe_sizes(conn)
    assert {"outbox", "inbox", "parked_keys", "delivery_attempts"} <= sizes.keys()
    assert sizes["outbox"] > 0


async def test_the_inbox_has_its_age_index(conn: Connection) -> None:
    definition = await conn.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = 'inbox_handled_at'"
    )
    assert definition is not None
    assert "(handled_at)" in definition
