"""Where an order's time goes, hop by hop, from the services' own outbox and inbox rows.

For each message of a completed order (OrderPlaced, each command and reply),
``commit_to_handled``: outbox ``created_at`` (the producing transaction's start) to the
consumer's inbox ``handled_at`` (the start of the consuming batch transaction): the
producing transaction's own duration, the wait for the relay, its send and the broker's
acknowledgement, the fetch, and the wait behind earlier batches of that consumer. (When
the relay published a row is not kept; its share is the relays' own histogram,
``orderflow_outbox_commit_to_publish_seconds``.) The consuming transaction's start is also the
``created_at`` of the message it sends, so the hops add up to the order's
placed-to-completed time. Used by bench/run.py per
step, and on its own against the running stack:

    .venv/bin/python -m bench.hops --last 500
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

import asyncpg

from orderflow_cli.stack import read_env

# The messages of the saga's forward path, with the consumer that moves the order on.
CHAIN = (
    ("checkout", "OrderPlaced", "orders"),
    ("orders", "ReserveStock", "inventory"),
    ("inventory", "StockReserved", "orders"),
    ("orders", "AuthorizePayment", "payment"),
    ("payment", "PaymentAuthorized", "orders"),
    ("orders", "CreateShipment", "shipping"),
    ("shipping", "ShipmentCreated", "orders"),
    ("orders", "CapturePayment", "payment"),
    ("payment", "PaymentCaptured", "orders"),
    ("orders", "CommitStock", "inventory"),
    ("inventory", "StockCommitted", "orders"),
)


def _ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None}
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return {"p50": round(statistics.median(values), 1), "p99": round(p99, 1)}


async def hops(conn: asyncpg.Connection, order_ids: list[str]) -> list[dict[str, Any]]:
    rows = []
    for producer, message_type, consumer in CHAIN:
        found = await conn.fetch(
            f"SELECT extract(epoch FROM i.handled_at - o.created_at) * 1000 AS handled "  # noqa: S608
            f"FROM {producer}.outbox o JOIN {consumer}.inbox i "
            f"ON i.message_id = o.message_id AND i.consumer = $3 "
            f"WHERE o.correlation_id = ANY($1::text[]) AND o.message_type = $2",
            order_ids, message_type, consumer,
        )  # fmt: skip
        handled = [float(r["handled"]) for r in found if r["handled"] is not None]
        rows.append(
            {
                "message": message_type,
                "from": producer,
                "to": consumer,
                "n": len(found),
                "commit_to_handled_ms": _ms(handled),
            }
        )
    return rows


async def submit_to_checkout(
    conn: asyncpg.Connection, submitted: dict[str, float]
) -> dict[str, float | None]:
    """Submit time (the bench's, per order id) to the start of checkout's transaction
    that placed the order (its OrderPlaced outbox row's ``created_at``): the door's own
    hop, HTTP request or orders.inbound record, before the saga's first message."""
    found = await conn.fetch(
        "SELECT correlation_id, extract(epoch FROM created_at) AS at FROM checkout.outbox "
        "WHERE correlation_id = ANY($1::text[]) AND message_type = 'OrderPlaced'",
        list(submitted),
    )
    return _ms([(float(r["at"]) - submitted[r["correlation_id"]]) * 1000 for r in found])


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| message | from -> to | commit->handled p50 / p99 ms |",
        "|---|---|---|",
    ]
    for r in rows:
        h = r["commit_to_handled_ms"]
        lines.append(f"| {r['message']} | {r['from']} -> {r['to']} | {h['p50']} / {h['p99']} |")
    total = sum(r["commit_to_handled_ms"]["p50"] or 0 for r in rows)
    lines.append(f"| sum of medians | | {total:.0f} |")
    return "\n".join(lines)


async def _main(last: int) -> None:
    conn = await asyncpg.connect(read_env()["DATABASE_URL"])
    try:
        ids = [
            r["order_id"]
            for r in await conn.fetch(
                "SELECT order_id FROM orders.saga_history WHERE to_status = 'COMPLETED' "
                "ORDER BY at DESC LIMIT $1",
                last,
            )
        ]
        print(table(await hops(conn, ids)))
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--last", type=int, default=500, help="the last N completed orders")
    args = parser.parse_args()
    asyncio.run(_main(args.last))
