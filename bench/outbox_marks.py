"""Micro-benchmark: how the relay tells published outbox rows from pending ones.

Three shapes, each a cycle of: insert a batch of outbox rows (one statement, committed),
claim the pending ones (one statement), then record them as published (one statement):

- ``marks``: ``UPDATE outbox SET published_at`` per row, pending rows found through a
  partial index ``WHERE published_at IS NULL`` (the shape before issue #11's outbox change:
  every mark is a non-HOT update, a new copy of the whole row);
- ``pending, trigger``: a narrow ``outbox_pending (id, slot)`` table, one row per pending
  outbox row, inserted by a statement trigger on the outbox and deleted once published
  (the shape since: ``orderflow_messaging.tables``);
- ``pending, CTE``: the same table, fed by the insert statement itself.

Reports per outbox row the PostgreSQL backends' CPU (writer and relay) and the WAL
written, alternating the shapes twice. Needs the stack's PostgreSQL (``orderflow up
--infra-only``) and nothing else running; works in a scratch schema it drops afterwards.

    .venv/bin/python -m bench.outbox_marks [--rows N] [--cycles C]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import psutil

from orderflow_cli.stack import read_env

_TABLE = """
CREATE TABLE outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     message_id uuid NOT NULL UNIQUE, topic text NOT NULL, key bytea,
                     value bytea, headers jsonb NOT NULL, slot int2 NOT NULL,
                     message_type text, correlation_id text,
                     created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
"""
_PENDING = """
CREATE TABLE outbox_pending (id bigint PRIMARY KEY, slot int2 NOT NULL);
"""
_TRIGGER = """
CREATE FUNCTION outbox_pend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_pending (slot, id) SELECT slot, id FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_pend AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION outbox_pend();
"""
_COLUMNS = """(message_id, topic, key, value, headers, slot, message_type, correlation_id)
    SELECT m, 'orders.events', k, v, '[["traceparent", "MDAtYWJj"]]'::jsonb, s,
           'PaymentAuthorized', c
    FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::int2[], $5::text[])
         AS u(m, k, v, s, c)"""
_INSERT = f"INSERT INTO outbox {_COLUMNS}"
_INSERT_CTE = f"""WITH added AS (INSERT INTO outbox {_COLUMNS} RETURNING slot, id)
    INSERT INTO outbox_pending (slot, id) SELECT slot, id FROM added"""  # noqa: S608
_CLAIM_MARKS = """SELECT id, slot, topic, key, value, headers, created_at FROM outbox
    WHERE published_at IS NULL AND slot = ANY($1::int2[]) ORDER BY id LIMIT $2"""
_CLAIM_PENDING = """SELECT o.id, o.slot, o.topic, o.key, o.value, o.headers, o.created_at
    FROM outbox o WHERE o.id = ANY(ARRAY(
        SELECT id FROM outbox_pending WHERE slot = ANY($1::int2[]) ORDER BY id LIMIT $2))
    ORDER BY o.id"""
_MARK = """UPDATE outbox SET published_at = u.at
    FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at) WHERE outbox.id = u.id"""
_DELETE = "DELETE FROM outbox_pending WHERE id = ANY($1::bigint[])"
_VALUE = b"x" * 900


@dataclass(frozen=True)
class Shape:
    name: str
    ddl: str
    insert: str
    claim: str
    published: str  # the statement recording what was published


SHAPES = [
    Shape(
        "marks",
        _TABLE + "CREATE INDEX outbox_pending ON outbox (slot, id) WHERE published_at IS NULL;",
        _INSERT,
        _CLAIM_MARKS,
        _MARK,
    ),
    Shape("pending, trigger", _TABLE + _PENDING + _TRIGGER, _INSERT, _CLAIM_PENDING, _DELETE),
    Shape("pending, CTE", _TABLE + _PENDING, _INSERT_CTE, _CLAIM_PENDING, _DELETE),
]


def _rows(n: int) -> list[list[object]]:
    keys = [uuid.uuid4().hex.encode() for _ in range(n)]
    return [
        [uuid.uuid4() for _ in range(n)],
        keys,
        [_VALUE] * n,
        [hash(k) % 16 for k in keys],
        [k.decode() for k in keys],
    ]


async def _cycle(
    writer: asyncpg.Connection, relay: asyncpg.Connection, shape: Shape, n: int
) -> None:
    await writer.execute(shape.insert, *_rows(n))
    claimed = await relay.fetch(shape.claim, list(range(16)), 500)
    if shape.published == _MARK:
        at = datetime.now(UTC)
        await relay.execute(_MARK, [r["id"] for r in claimed], [at] * len(claimed))
    else:
        await relay.execute(_DELETE, [r["id"] for r in claimed])


async def _run(url: str, shape: Shape, rows: int, cycles: int, backlog: int) -> str:
    writer = await asyncpg.connect(url)
    relay = await asyncpg.connect(url)
    try:
        await writer.execute(
            f"DROP SCHEMA IF EXISTS bench_om CASCADE; CREATE SCHEMA bench_om;"
            f"SET search_path = bench_om; {shape.ddl}"
        )
        await relay.execute("SET search_path = bench_om")
        for _ in range(backlog // 500):  # a table of published rows, as in a running service
            await _cycle(writer, relay, shape, 500)
        await writer.execute("VACUUM ANALYZE outbox")
        backends = [
            psutil.Process(await c.fetchval("SELECT pg_backend_pid()")) for c in (writer, relay)
        ]
        cpu = [sum(b.cpu_times()[:2]) for b in backends]
        lsn = await writer.fetchval("SELECT pg_current_wal_lsn()")
        wall = time.perf_counter()
        for _ in range(cycles):
            await _cycle(writer, relay, shape, rows)
        elapsed = time.perf_counter() - wall
        wal = await writer.fetchval("SELECT pg_current_wal_lsn() - $1::pg_lsn", lsn)
        per = 1 / (rows * cycles)
        used = [sum(b.cpu_times()[:2]) - before for b, before in zip(backends, cpu, strict=True)]
        writes, relays = (1e6 * per * u for u in used)
        return (
            f"{shape.name:17} PostgreSQL {writes + relays:5.1f} us (inserts {writes:4.1f}, "
            f"relay {relays:4.1f}), WAL {float(wal) * per:6.0f} B, "
            f"wall {1e6 * per * elapsed:5.1f} us per row"
        )
    finally:
        await writer.execute("DROP SCHEMA IF EXISTS bench_om CASCADE")
        await writer.close()
        await relay.close()


async def main(rows: int, cycles: int, backlog: int) -> None:
    url = read_env()["DATABASE_URL"]
    for shape in SHAPES * 2:
        print(await _run(url, shape, rows, cycles, backlog), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100, help="outbox rows per cycle")
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--backlog", type=int, default=50_000, help="published rows first")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.cycles, args.backlog))
