"""`make bench` / `make bench-quick`: ceilings, then open-loop load at rising rates.

Writes bench/results/latest.json (max_sustained_orders_per_s, p99_ms_at_300,
ceiling_kafka_msgs_per_s, ceiling_pg_txn_per_s, steps), latest.md and latest.png
(throughput vs latency). Needs the stack and the services up (`orderflow up`; the
Makefile targets and `orderflow bench` start them when needed). When the rates span
300/s, a step at 300/s is added: p99_ms_at_300 is a headline figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console

from bench.ceilings import kafka_ceiling, postgres_ceiling
from bench.hops import table as hop_table
from bench.load import Step, outbox_backlog, run_step, total_lag
from bench.plot import write_plot
from orderflow_cli.demo import wait_for_catalog
from orderflow_cli.paths import state_dir
from orderflow_cli.stack import read_env
from orderflow_cli.stack.postgres import server_pid
from orderflow_cli.stack.process import read_pid

RESULTS = Path(__file__).parent / "results"
HEADLINE_RATE = 300.0
WARM_UP_S = 5.0
# One successful order publishes 15 messages through the outboxes: OrderPlaced, five
# commands and their five replies, OrderConfirmed, OrderCompleted, and later the
# shipment's Dispatched and Delivered (13 of them before COMPLETED).
MESSAGES_PER_ORDER = 15
# ...and costs 20 transactions of the consumer shape (inbox + state + outbox) if nothing
# were batched: checkout's insert plus 19 inbox rows (orders 8, history 6, inventory 2,
# payment 2, shipping 1); payment adds its pending-key and gateway-ledger transactions.
TXN_PER_ORDER = 20
console = Console()


def _pids() -> dict[str, int]:
    pids = {}
    for name in ("catalog", "checkout", "orders", "inventory", "payment", "shipping", "history"):
        pid = read_pid(state_dir() / "services" / f"{name}.pid")
        if pid:
            pids[name] = pid
    kafka = read_pid(state_dir() / "kafka" / "kafka.pid")
    if kafka:
        pids["kafka"] = kafka
    postgres = server_pid()
    if postgres:
        pids["postgres"] = postgres
    return pids


def overloaded(row: dict[str, Any]) -> bool:
    """The system fell behind the offered rate (not merely slow)."""
    growing = row["lag_end"] > row["lag_start"] + row["target_orders_per_s"]
    behind = row["achieved_orders_per_s"] < 0.8 * row["target_orders_per_s"]
    return growing or behind or row["completed"] < 0.95 * max(1, row["placed"])


def sustained(row: dict[str, Any]) -> bool:
    growing = row["lag_end"] > row["lag_start"] + row["target_orders_per_s"]
    return (
        row["p99_ms"] is not None
        and row["p99_ms"] < 1000
        and not growing
        and row["completed"] >= 0.95 * max(1, row["placed"])
    )


async def _drain(ctx: dict[str, Any], timeout_s: float = 90.0) -> None:
    """Start each step on an idle system: no consumer lag, no unpublished outbox row."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (  # noqa: ASYNC110
        await total_lag(ctx["admin"], ctx["kafka"]) > 0 or await outbox_backlog(ctx["db"]) > 0
    ):
        await asyncio.sleep(1)


async def main(
    rates: list[float],
    seconds: float,
    kafka_messages: int,
    stop_after: int = 2,
    ceilings: bool = True,
) -> dict[str, Any]:
    env = read_env()
    kafka: dict[str, Any] = {"msgs_per_s": 0}
    pg: dict[str, Any] = {"txn_per_s": 0, "cores": os.cpu_count() or 0}
    if ceilings:
        console.print("[bold]ceilings[/]: Kafka produce+consume, PostgreSQL transaction shape")
        kafka = await kafka_ceiling(env["KAFKA_BOOTSTRAP_SERVERS"], kafka_messages)
        pg = await postgres_ceiling(env["DATABASE_URL"])
        console.print(f"  kafka {kafka}\n  postgres {pg}")
    admin = AIOKafkaAdminClient(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    kc = AIOKafkaConsumer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    await kc.start()
    db = await asyncpg.connect(env["DATABASE_URL"])
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    rows: list[dict[str, Any]] = []
    overloaded_in_a_row = 0
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        await wait_for_catalog(client)
        ctx = {"client": client, "admin": admin, "kafka": kc, "db": db, "pids": _pids()}
        if rates:  # unrecorded: warm pools and statement caches, let the ceilings' I/O settle
            await _drain(ctx)
            await run_step(Step(rate=min(rates), seconds=WARM_UP_S), ctx)
        for rate in with_headline_rate(rates):
            if overloaded_in_a_row >= stop_after:
                console.print(f"  {rate:>6.0f}/s skipped: {stop_after} overloaded steps in a row")
                continue
            await _drain(ctx)
            step = await run_step(Step(rate=rate, seconds=seconds), ctx)
            row = step.row()
            row["sustained"] = sustained(row)
            row["loadavg_1m"] = round(os.getloadavg()[0], 2)
            rows.append(row)
            overloaded_in_a_row = overloaded_in_a_row + 1 if overloaded(row) else 0
            console.print(
                f"  {rate:>6.0f}/s -> {row['achieved_orders_per_s']:>6.1f}/s completed, "
                f"p50 {row['p50_ms']} p95 {row['p95_ms']} p99 {row['p99_ms']} ms, "
                f"lag {row['lag_start']}->{row['lag_end']}, "
                f"cpu {row['cpu_ms_per_order']} ms/order, load {row['loadavg_1m']}"
            )
    await db.close()
    await kc.stop()
    await admin.close()
    good = [r for r in rows if r["sustained"]]
    best = max((r["achieved_orders_per_s"] for r in good), default=0)
    at_300 = next((r for r in rows if r["target_orders_per_s"] == HEADLINE_RATE), None)
    return {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"cpus": pg["cores"], "python": platform.python_version()},
        "max_sustained_orders_per_s": best,
        "p99_ms_at_300": at_300["p99_ms"] if at_300 else None,
        "ceiling_kafka_msgs_per_s": kafka["msgs_per_s"],
        "ceiling_kafka": kafka,
        "ceiling_pg_txn_per_s": pg["txn_per_s"],
        "messages_per_order": MESSAGES_PER_ORDER,
        "transactions_per_order": TXN_PER_ORDER,
        "ratio_to_kafka_ceiling": _ratio(best * MESSAGES_PER_ORDER, kafka["msgs_per_s"]),
        "ratio_to_pg_ceiling": _ratio(best * TXN_PER_ORDER, pg["txn_per_s"]),
        "steps": rows,
    }


def _ratio(used: float, ceiling: float) -> float | None:
    return round(used / ceiling, 3) if ceiling else None


def with_headline_rate(rates: list[float]) -> list[float]:
    """The rates, plus a step at 300/s when they span it (for p99_ms_at_300)."""
    if HEADLINE_RATE in rates or not rates or max(rates) < HEADLINE_RATE:
        return rates
    return sorted([*rates, HEADLINE_RATE])


def markdown(result: dict[str, Any], plot: str | None = "latest.png") -> str:
    per_order = result["messages_per_order"]
    lines = [
        f"# orderflow benchmark ({result['when']})",
        "",
        f"- max sustained: **{result['max_sustained_orders_per_s']} orders/s** "
        "(p99 < 1 s, lag not growing, >= 95% completed); "
        f"p99 at 300/s: {result['p99_ms_at_300']} ms",
        f"- ceilings: Kafka {result['ceiling_kafka_msgs_per_s']} msgs/s "
        f"(~{result['ceiling_kafka_msgs_per_s'] // per_order} orders/s at "
        f"{per_order} messages per order), PostgreSQL "
        f"{result['ceiling_pg_txn_per_s']} txn/s "
        f"(~{result['ceiling_pg_txn_per_s'] // result['transactions_per_order']} orders/s at "
        f"{result['transactions_per_order']} unbatched transactions per order)",
        f"- share of the ceilings used at the max sustained rate: Kafka "
        f"{result['ratio_to_kafka_ceiling']}, PostgreSQL {result['ratio_to_pg_ceiling']}",
        "",
        "| target/s | completed/s | p50 ms | p95 ms | p99 ms | lag start -> end "
        "| outbox backlog | CPU ms/order | load (1 min) | sustained |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["steps"]:
        lines.append(
            f"| {r['target_orders_per_s']:.0f} | {r['achieved_orders_per_s']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['lag_start']} -> {r['lag_end']} | "
            f"{r['outbox_backlog_end']} | {r.get('cpu_ms_per_order')} | "
            f"{r.get('loadavg_1m')} | {'yes' if r.get('sustained') else 'no'} |"
        )
    lines += ["", "CPU % per process at each step:", ""]
    for r in result["steps"]:
        usage = ", ".join(f"{k} {v['cpu_pct']}" for k, v in sorted(r["processes"].items()))
        lines.append(f"- {r['target_orders_per_s']:.0f}/s: {usage}")
    shown = _hop_step(result["steps"])
    if shown is not None:
        lines += [
            "",
            f"Where the time goes at {shown['target_orders_per_s']:.0f}/s (bench/hops.py):",
            "",
            hop_table(shown["hops"]),
        ]
    if plot:
        lines += ["", f"![throughput vs latency]({plot})"]
    return "\n".join(lines) + "\n"


def _hop_step(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The step at 300/s, else the fastest sustained one, else the last one."""
    with_hops = [s for s in steps if s.get("hops")]
    for s in with_hops:
        if s["target_orders_per_s"] == HEADLINE_RATE:
            return s
    good = [s for s in with_hops if s.get("sustained")]
    return (good or with_hops or [None])[-1]


def write_results(result: dict[str, Any], out: Path = RESULTS) -> list[Path]:
    """latest.json, latest.md and latest.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "latest.json", out / "latest.md", out / "latest.png"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(markdown(result, paths[2].name))
    write_plot(result, paths[2])
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="25,50,100,200,400,800,1200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kafka-messages", type=int, default=50_000)
    parser.add_argument(
        "--stop-after", type=int, default=2,
        help="skip the higher rates after this many overloaded steps in a row",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    parser.add_argument(
        "--no-ceilings", action="store_true", help="load steps only (quicker comparisons)"
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    result = asyncio.run(
        main(rates, args.seconds, args.kafka_messages, args.stop_after, not args.no_ceilings)
    )
    written = write_results(result, args.out)
    console.print(markdown(result, None))
    console.print("wrote " + ", ".join(str(p) for p in written))
