"""PostgreSQL's own counters over a stretch of load, per order: WAL, buffers, commits.

    python -m bench.pg_counters reset        # after the warm-up, before the load
    python -m bench.pg_counters report N     # after it: N = orders in between

Unlike CPU time these counters do not move with the machine's speed, so one run of each
commit compares a change in statements or rows (a burst of 5,000 is enough). With
``pg_stat_statements`` loaded (``shared_preload_libraries``; then ``CREATE EXTENSION``),
the report also lists the statements by time. Runs against the stack in
``ORDERFLOW_HOME`` (its ``DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio

import asyncpg

from orderflow_cli.stack import read_env

_RESET = (
    "SELECT pg_stat_reset_shared('wal')",
    "SELECT pg_stat_reset_shared('io')",
    "SELECT pg_stat_reset()",
)
_TOTALS = """
    SELECT w.wal_records, w.wal_fpi, w.wal_bytes, d.xact_commit, d.blks_hit, d.blks_read,
           (SELECT sum(writes) FROM pg_stat_io) AS writes,
           (SELECT sum(idx_blks_hit) FROM pg_statio_user_indexes) AS index_hits
    FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()
"""
_TABLES = """
    SELECT schemaname || '.' || relname AS name, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
    FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0
    ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC
"""
_STATEMENTS = """
    SELECT total_exec_time, calls, wal_bytes,
           left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1
"""


async def reset(conn: asyncpg.Connection) -> None:
    for statement in _RESET:
        await conn.execute(statement)
    if await _has_statements(conn):
        await conn.execute("SELECT pg_stat_statements_reset()")


async def report(conn: asyncpg.Connection, orders: int, top: int) -> str:
    t = await conn.fetchrow(_TOTALS)
    lines = [
        f"per order: WAL {float(t['wal_bytes']) / orders / 1024:.1f} KB, "
        f"{t['wal_records'] / orders:.0f} records, {t['wal_fpi'] / orders:.2f} full-page "
        f"images; {t['xact_commit'] / orders:.2f} commits; blocks hit "
        f"{t['blks_hit'] / orders:.0f} (index {float(t['index_hits'] or 0) / orders:.0f}), "
        f"read {t['blks_read'] / orders:.2f}; buffer writes {float(t['writes'] or 0) / orders:.2f}",
        "rows per order (inserted, updated, of them HOT, deleted):",
    ]
    for r in await conn.fetch(_TABLES):
        lines.append(
            f"  {r['name']:40} {r['n_tup_ins'] / orders:6.2f} {r['n_tup_upd'] / orders:6.2f} "
            f"{r['n_tup_hot_upd'] / orders:6.2f} {r['n_tup_del'] / orders:6.2f}"
        )
    if await _has_statements(conn):
        lines.append("statements (us and WAL KB per order, calls per order):")
        for r in await conn.fetch(_STATEMENTS, top):
            lines.append(
                f"  {r['total_exec_time'] * 1000 / orders:8.1f} us "
                f"{float(r['wal_bytes']) / orders / 1024:6.1f} KB "
                f"{r['calls'] / orders:6.3f} | {r['query']}"
            )
    return "\n".join(lines)


_LOADED = "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"


async def _has_statements(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval(_LOADED))


async def main(args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(read_env()["DATABASE_URL"])
    try:
        if args.command == "reset":
            await reset(conn)
        else:
            print(await report(conn, args.orders, args.top))
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reset", help="zero the counters")
    shown = commands.add_parser("report", help="the counters since the reset, per order")
    shown.add_argument("orders", type=int, help="orders placed since the reset")
    shown.add_argument("--top", type=int, default=30, help="statements to list")
    asyncio.run(main(parser.parse_args()))
