"""`make bench` / `make bench-quick`: ceilings, then open-loop load at rising rates.

Writes bench/results/latest.json (max_sustained_orders_per_s, p99_ms_at_300,
ceiling_kafka_msgs_per_s, ceiling_pg_txn_per_s, steps) and latest.md. Needs the stack
and the services up (`orderflow up`; the Makefile target starts them when needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from bench.load import Step, run_step, total_lag
from orderflow_cli.demo import wait_for_catalog
from orderflow_cli.paths import state_dir
from orderflow_cli.stack import read_env
from orderflow_cli.stack.process import read_pid

RESULTS = Path(__file__).parent / "results"
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
    return pids


def sustained(row: dict[str, Any]) -> bool:
    growing = row["lag_end"] > row["lag_start"] + row["target_orders_per_s"]
    return (
        row["p99_ms"] is not None
        and row["p99_ms"] < 1000
        and not growing
        and row["completed"] >= 0.95 * max(1, row["placed"])
    )


async def _drain(ctx: dict[str, Any], timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and await total_lag(ctx["admin"], ctx["kafka"]) > 0:  # noqa: ASYNC110
        await asyncio.sleep(1)


async def main(rates: list[float], seconds: float, kafka_messages: int) -> dict[str, Any]:
    env = read_env()
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
    rows = []
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        await wait_for_catalog(client)
        ctx = {"client": client, "admin": admin, "kafka": kc, "db": db, "pids": _pids()}
        for rate in rates:
            await _drain(ctx)
            step = await run_step(Step(rate=rate, seconds=seconds), ctx)
            row = step.row()
            rows.append(row)
            console.print(
                f"  {rate:>6.0f}/s -> {row['achieved_orders_per_s']:>6.1f}/s completed, "
                f"p50 {row['p50_ms']} p95 {row['p95_ms']} p99 {row['p99_ms']} ms, "
                f"lag {row['lag_start']}->{row['lag_end']}"
            )
    await db.close()
    await kc.stop()
    await admin.close()
    good = [r for r in rows if sustained(r)]
    at_300 = next((r for r in rows if r["target_orders_per_s"] == 300), None)
    return {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"cpus": pg["cores"], "python": platform.python_version()},
        "max_sustained_orders_per_s": max((r["achieved_orders_per_s"] for r in good), default=0),
        "p99_ms_at_300": at_300["p99_ms"] if at_300 else None,
        "ceiling_kafka_msgs_per_s": kafka["msgs_per_s"],
        "ceiling_kafka": kafka,
        "ceiling_pg_txn_per_s": pg["txn_per_s"],
        "messages_per_order": 9,
        "steps": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# orderflow benchmark ({result['when']})",
        "",
        f"- max sustained: **{result['max_sustained_orders_per_s']} orders/s** "
        "(p99 < 1 s, lag not growing, >= 95% completed)",
        f"- ceilings: Kafka {result['ceiling_kafka_msgs_per_s']} msgs/s "
        f"(~{result['ceiling_kafka_msgs_per_s'] // result['messages_per_order']} orders/s at "
        f"{result['messages_per_order']} messages per order), PostgreSQL "
        f"{result['ceiling_pg_txn_per_s']} txn/s",
        "",
        "| target/s | completed/s | p50 ms | p95 ms | p99 ms | lag start -> end | outbox backlog |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["steps"]:
        lines.append(
            f"| {r['target_orders_per_s']:.0f} | {r['achieved_orders_per_s']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['lag_start']} -> {r['lag_end']} | "
            f"{r['outbox_backlog_end']} |"
        )
    lines += ["", "CPU % per process at each step:", ""]
    for r in result["steps"]:
        usage = ", ".join(f"{k} {v['cpu_pct']}" for k, v in sorted(r["processes"].items()))
        lines.append(f"- {r['target_orders_per_s']:.0f}/s: {usage}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="25,50,100,200,400,800,1200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kafka-messages", type=int, default=50_000)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    result = asyncio.run(main(rates, args.seconds, args.kafka_messages))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(result))
    console.print(markdown(result))
