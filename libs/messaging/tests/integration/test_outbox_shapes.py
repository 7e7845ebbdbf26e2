"""The outbox's move from ``published_at`` marks to the ``outbox_pending`` table, and back:
what was pending stays pending, what was published stays published, either way; and
from JSON headers to packed ones (``header_bytes``), and back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from orderflow_messaging.db import Connection, hot_pool
from orderflow_messaging.header_codec import encode_headers, pack_headers, stored_headers
from orderflow_messaging.tables import (
    create_messaging_tables,
    restore_json_headers,
    restore_published_at,
)
from orderflow_testing.plugin import SchemaDatabase


@pytest.fixture
async def conn(messaging_db: SchemaDatabase) -> AsyncIterator[Connection]:
    pool = await hot_pool(messaging_db.engine).pool()
    async with pool.acquire() as connection:
        yield connection


async def _insert(conn: Connection, n: int) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO outbox (message_id, topic, key, value, headers, slot) "
        "SELECT m, 't', 'k', 'v', '[]', 3 FROM unnest($1::uuid[]) AS m RETURNING id",
        [uuid.uuid4() for _ in range(n)],
    )
    return [int(r[0]) for r in rows]


async def _ids(conn: Connection, sql: str) -> set[int]:
    return {int(r[0]) for r in await conn.fetch(sql)}


async def _columns(conn: Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'outbox'"
    )
    return {r[0] for r in rows}


async def test_pending_rows_survive_a_downgrade_and_an_upgrade(
    messaging_db: SchemaDatabase, conn: Connection
) -> None:
    ids = await _insert(conn, 4)
    assert await _ids(conn, "SELECT id FROM outbox_pending") == set(ids)
    await conn.execute("DELETE FROM outbox_pending WHERE id = ANY($1)", ids[:2])  # published

    async with messaging_db.engine.begin() as sa:
        await sa.run_sync(restore_published_at)
    assert await _ids(conn, "SELECT id FROM outbox WHERE published_at IS NULL") == set(ids[2:])
    kind = "SELECT relkind::text FROM pg_class WHERE oid = to_regclass('outbox_pending')"
    assert await conn.fetchval(kind) == "i"  # the earlier shape's partial index

    async with messaging_db.engine.begin() as sa:
        await sa.run_sync(create_messaging_tables)
    assert await conn.fetchval(kind) == "r"
    assert await _ids(conn, "SELECT id FROM outbox_pending") == set(ids[2:])
    assert "published_at" not in await _columns(conn)
    [added] = await _insert(conn, 1)  # the trigger is back
    assert await _ids(conn, "SELECT id FROM outbox_pending") == {*ids[2:], added}


async def test_every_insert_is_pending_until_marked(conn: Connection) -> None:
    ids = await _insert(conn, 3)
    assert await _ids(conn, "SELECT id FROM outbox_pending") == set(ids)
    assert {r["slot"] for r in await conn.fetch("SELECT slot FROM outbox_pending")} == {3}


HEADERS = [("type", b"OrderPlaced"), ("raw", b"\xff\x00")]


async def _headers(conn: Connection) -> dict[int, list[tuple[str, bytes]]]:
    rows = await conn.fetch("SELECT to_jsonb(o) AS row FROM outbox o")  # whatever columns
    return {
        r["row"]["id"]: stored_headers(_bytea(r["row"].get("header_bytes")), r["row"]["headers"])
        for r in rows
    }


def _bytea(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text.removeprefix("\\x"))


async def test_headers_of_either_shape_are_read_and_a_downgrade_writes_json_again(
    messaging_db: SchemaDatabase, conn: Connection
) -> None:
    insert = (
        "INSERT INTO outbox (message_id, topic, key, value, {column}, slot) "
        "VALUES ($1, 't', 'k', 'v', $2, 3) RETURNING id"
    )
    earlier = await conn.fetchval(
        insert.format(column="headers"), uuid.uuid4(), encode_headers(HEADERS)
    )
    packed = await conn.fetchval(
        insert.format(column="header_bytes"), uuid.uuid4(), pack_headers(HEADERS)
    )
    assert await _headers(conn) == {earlier: HEADERS, packed: HEADERS}

    async with messaging_db.engine.begin() as sa:
        await sa.run_sync(restore_json_headers)
    assert "header_bytes" not in await _columns(conn)
    assert await _headers(conn) == {earlier: HEADERS, packed: HEADERS}

    async with messaging_db.engine.begin() as sa:
        await sa.run_sync(create_messaging_tables)
    assert "header_bytes" in await _columns(conn)
    assert await _headers(conn) == {earlier: HEADERS, packed: HEADERS}
