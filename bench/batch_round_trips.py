"""Micro-benchmark: one coordinator-shaped batch in a transaction block vs as a write plan.

The batch: claim the inbox for N messages, load N rows, update them (version checked),
insert N history rows and N outbox rows. In a transaction block that is seven round
trips (BEGIN, claim, load ... FOR UPDATE, update, history, outbox, COMMIT); as an
optimistic batch (``orderflow_messaging.write_plan``) two (load, then every write as
one statement). Reports, per batch, the PostgreSQL backend's CPU, this process's CPU and
the wall time, alternating the two shapes twice. Needs the stack's PostgreSQL
(``orderflow up``); works in a scratch schema it drops afterwards.

    .venv/bin/python -m bench.batch_round_trips [--records N] [--batches B]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import psutil

from orderflow_cli.stack import read_env
from orderflow_messaging.write_plan import WritePlan

_DDL = """
DROP SCHEMA IF EXISTS bench_rt CASCADE; CREATE SCHEMA bench_rt; SET search_path = bench_rt;
CREATE TABLE inbox (consumer text, message_id uuid, status text,
                    handled_at timestamptz DEFAULT now(), PRIMARY KEY (consumer, message_id));
CREATE TABLE sagas (order_id text PRIMARY KEY, status text, data jsonb, version int,
                    deadline timestamptz, updated_at timestamptz DEFAULT now());
CREATE INDEX ON sagas (deadline);
CREATE TABLE history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id text,
                      at timestamptz, note text);
CREATE TABLE outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     message_id uuid UNIQUE, topic text, key bytea, value bytea, slot int2,
                     created_at timestamptz DEFAULT now(), published_at timestamptz);
CREATE INDEX ON outbox (slot, id) WHERE published_at IS NULL;
"""
_CLAIM = """INSERT INTO inbox (consumer, message_id, status)
    SELECT 'c', m, 'processed' FROM unnest($1::uuid[]) AS m ON CONFLICT DO NOTHING"""
_READ = "SELECT order_id, data::text AS data, version FROM sagas WHERE order_id = ANY($1::text[])"
_UPDATE = """UPDATE sagas s SET status = u.st, data = u.d::jsonb, version = u.v + 1,
                    updated_at = now(), deadline = now()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS u(o, st, d, v)
    WHERE s.order_id = u.o AND s.version = u.v"""
_HISTORY = "INSERT INTO history (order_id, at, note) SELECT o, now(), 'n' FROM unnest($1::text[]) o"
_OUTBOX = """INSERT INTO outbox (message_id, topic, key, value, slot)
    SELECT m, 't', k, v, 1 FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(m, k, v)"""
_VALUE = b"x" * 700


async def _block(conn: asyncpg.Connection, orders: list[str]) -> None:
    async with conn.transaction():
        await conn.execute(_CLAIM, [uuid.uuid4() for _ in orders])
        rows = await conn.fetch(_READ + " ORDER BY order_id FOR UPDATE", orders)
        await conn.execute(_UPDATE, *_update_args(rows))
        await conn.execute(_HISTORY, orders)
        await conn.execute(_OUTBOX, *_outbox_args(orders))


async def _planned(conn: asyncpg.Connection, orders: list[str]) -> None:
    rows = await conn.fetch(_READ, orders)
    plan = WritePlan()
    plan.add(_CLAIM, [uuid.uuid4() for _ in orders], expect=len(orders))
    plan.add(_UPDATE, *_update_args(rows), expect=len(rows))
    plan.add(_HISTORY, orders)
    plan.add(_OUTBOX, *_outbox_args(orders))
    await plan.execute(conn)


def _update_args(rows: list[asyncpg.Record]) -> list[list[object]]:
    return [
        [r["order_id"] for r in rows],
        ["s2"] * len(rows),
        [r["data"] for r in rows],
        [r["version"] for r in rows],
    ]


def _outbox_args(orders: list[str]) -> list[list[object]]:
    return [[uuid.uuid4() for _ in orders], [o.encode() for o in orders], [_VALUE] * len(orders)]


async def main(records: int, batches: int) -> None:
    conn = await asyncpg.connect(read_env()["DATABASE_URL"])
    try:
        await conn.execute(_DDL)
        backend = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
        orders = [f"o{i}" for i in range(records * batches * 4)]
        await conn.execute(
            "INSERT INTO sagas SELECT o, 's', '{\"a\": 1}', 1, now() FROM unnest($1::text[]) o",
            orders,
        )
        shapes: list[tuple[str, Callable[[asyncpg.Connection, list[str]], Awaitable[None]]]] = [
            ("transaction block", _block),
            ("write plan", _planned),
        ] * 2
        for run, (name, shape) in enumerate(shapes):
            first = run * batches * records
            cpu = sum(backend.cpu_times()[:2])
            me, wall = time.process_time(), time.perf_counter()
            for b in range(batches):
                await shape(conn, orders[first + b * records : first + (b + 1) * records])
            per = 1e6 / batches
            server = per * (sum(backend.cpu_times()[:2]) - cpu)
            client = per * (time.process_time() - me)
            elapsed = per * (time.perf_counter() - wall)
            print(
                f"{records} records, {name}: PostgreSQL {server:.0f} us, "
                f"client {client:.0f} us, wall {elapsed:.0f} us per batch"
            )
    finally:
        await conn.execute("DROP SCHEMA IF EXISTS bench_rt CASCADE")
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1)
    parser.add_argument("--batches", type=int, default=800)
    args = parser.parse_args()
    asyncio.run(main(args.records, args.batches))
