"""`make bench` / `make bench-quick`: ceilings, then open-loop load at rising rates per
mode (the upstream Kafka door and checkout's HTTP API), then a burst through the door.

Writes bench/results/latest.json (per mode: max_sustained_orders_per_s,
cpu_ms_per_order_at_max_sustained, steps; p99_ms_at_200_kafka, p99_ms_at_300_http; the
ceilings; burst), latest.md and latest.png (throughput vs latency of both modes). Needs
the stack and the services up (`orderflow up`; the Makefile targets and `orderflow
bench` start them when needed). A mode's headline rate (200/s Kafka, 300/s HTTP) is
added to its steps when its rates span it. ``--rates`` is for every mode run unless
``--http-rates`` is given; ``--burst 0`` (the default here) runs no burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console

from bench.ceilings import kafka_ceiling, postgres_ceiling
from bench.door import Door, run_burst
from bench.load import Offer, Step, http_offer, outbox_backlog, run_step, total_lag
from bench.plot import write_plot
from bench.report import markdown, summarize, sustained, trailing_overloaded, with_headline_rate
from orderflow_cli.demo import wait_for_catalog
from orderflow_cli.paths import state_dir
from orderflow_cli.stack import read_env
from orderflow_cli.stack.postgres import server_pid
from orderflow_cli.stack.process import read_pid
from orderflow_messaging.kafka import client_options

RESULTS = Path(__file__).parent / "results"
KAFKA_RATES = "50,100,200,300,400,600,800,1000,1200,1500"
HTTP_RATES = "25,50,100,200,300,400,600,800,1000,1200"
# Unrecorded, before each mode's steps: long enough for the broker's JIT compiler to
# have compiled its hot paths (in the first minutes after a start the C2 compiler thread
# alone took a quarter of the machine, counted as Kafka CPU per order) and for every
# pool, statement cache and page cache to fill. A steady state, as a service that has
# run for a while is in.
WARM_UP_S = 45.0
WARM_UP_RATE = 100.0
console = Console()


def stack_pids() -> dict[str, int]:
    """The pid of every service, the broker and PostgreSQL (for CPU per process)."""
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


async def drain(ctx: dict[str, Any], timeout_s: float = 90.0) -> float:
    """Start each step on an idle system: no consumer lag, no unpublished outbox row.
    Returns the seconds it waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s and (  # noqa: ASYNC110
        await total_lag(ctx["admin"], ctx["kafka"]) > 0 or await outbox_backlog(ctx["db"]) > 0
    ):
        await asyncio.sleep(1)
    return round(time.monotonic() - start, 1)


async def open_context(resources: AsyncExitStack, env: dict[str, str]) -> dict[str, Any]:
    """What a load run needs, closed with ``resources``: an admin client and a consumer
    (lag), the Kafka door, a database connection, the pids whose CPU is counted (this
    benchmark's own database backend excluded: it is not part of the system)."""
    admin = AIOKafkaAdminClient(**client_options(env["KAFKA_BOOTSTRAP_SERVERS"]))
    resources.push_async_callback(admin.close)
    await admin.start()
    kc = AIOKafkaConsumer(**client_options(env["KAFKA_BOOTSTRAP_SERVERS"]))
    resources.push_async_callback(kc.stop)
    await kc.start()
    door = Door(env["KAFKA_BOOTSTRAP_SERVERS"])
    resources.push_async_callback(door.stop)
    await door.start()
    db = await asyncpg.connect(env["DATABASE_URL"])
    resources.push_async_callback(db.close)
    return {
        "admin": admin, "kafka": kc, "door": door, "db": db, "pids": stack_pids(),
        "exclude": {await db.fetchval("SELECT pg_backend_pid()")},
    }  # fmt: skip


def _offer(mode: str, step: Step, ctx: dict[str, Any]) -> Offer:
    if mode == "kafka":
        door: Door = ctx["door"]
        return door.prepare(int(step.rate * step.seconds), step.rate)
    return http_offer(ctx["session"], step)


async def _steps(
    mode: str, rates: list[float], seconds: float, stop_after: int, ctx: dict[str, Any]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    console.print(f"[bold]{mode}[/]: open-loop steps")
    if rates and ctx["warm_up_s"] > 0:  # unrecorded (see WARM_UP_S)
        await drain(ctx)
        warm = Step(rate=min(WARM_UP_RATE, max(rates)), seconds=ctx["warm_up_s"], mode=mode)
        await run_step(warm, ctx, _offer(mode, warm, ctx))
    for rate in with_headline_rate(rates, mode):
        if trailing_overloaded(rows) >= stop_after:
            console.print(f"  {rate:>6.0f}/s skipped: {stop_after} overloaded steps in a row")
            continue
        await drain(ctx)
        step = Step(rate=rate, seconds=seconds, mode=mode)
        row = (await run_step(step, ctx, _offer(mode, step, ctx))).row()
        row["sustained"] = sustained(row)
        row["loadavg_1m"] = round(os.getloadavg()[0], 2)
        rows.append(row)
        console.print(
            f"  {rate:>6.0f}/s -> {row['achieved_orders_per_s']:>6.1f}/s completed, "
            f"p50 {row['p50_ms']} p95 {row['p95_ms']} p99 {row['p99_ms']} ms, "
            f"lag {row['lag_start']}->{row['lag_end']}, "
            f"cpu {row['cpu_ms_per_order']} ms/order, load {row['loadavg_1m']}"
        )
    return rows


async def main(
    rates: dict[str, list[float]],
    seconds: float,
    kafka_messages: int,
    stop_after: int = 2,
    ceilings: bool = True,
    burst: int = 0,
    burst_timeout_s: float = 300.0,
    warm_up_s: float = WARM_UP_S,
) -> dict[str, Any]:
    """``rates``: the modes to run ("kafka", "http") and their rates, in that order."""
    env = read_env()
    kafka: dict[str, Any] = {"msgs_per_s": 0}
    pg: dict[str, Any] = {"txn_per_s": 0, "cores": os.cpu_count() or 0}
    if ceilings:
        console.print("[bold]ceilings[/]: Kafka produce+consume, PostgreSQL transaction shape")
        kafka = await kafka_ceiling(env["KAFKA_BOOTSTRAP_SERVERS"], kafka_messages)
        pg = await postgres_ceiling(env["DATABASE_URL"])
        console.print(f"  kafka {kafka}\n  postgres {pg}")
    steps: dict[str, list[dict[str, Any]]] = {}
    burst_row = None
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with AsyncExitStack() as resources:
        ctx = await open_context(resources, env)
        client = await resources.enter_async_context(httpx.AsyncClient(timeout=30.0, limits=limits))
        await wait_for_catalog(client)
        session = await resources.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64),
                timeout=aiohttp.ClientTimeout(total=30.0),
            )
        )
        ctx |= {"client": client, "session": session, "warm_up_s": warm_up_s}
        door: Door = ctx["door"]
        for mode, mode_rates in rates.items():
            steps[mode] = await _steps(mode, mode_rates, seconds, stop_after, ctx)
        if burst > 0:
            console.print(f"[bold]burst[/]: {burst} orders at once through the Kafka door")
            await drain(ctx)
            # A checkpoint now, not at a random moment of the burst: after one, the
            # first change of every page writes the whole page to the WAL, so where a
            # checkpoint falls moved PostgreSQL's CPU per order by half, run to run.
            await ctx["db"].execute("CHECKPOINT")
            burst_row = await run_burst(door, ctx, burst, burst_timeout_s)
            console.print(
                f"  {burst_row['seconds']} s, {burst_row['orders_per_s']} orders/s, "
                f"cpu {burst_row['cpu_ms_per_order']} ms/order"
            )
    return summarize(steps, kafka, pg, burst_row, datetime.now(UTC).isoformat())


def write_results(result: dict[str, Any], out: Path = RESULTS) -> list[Path]:
    """latest.json, latest.md and latest.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "latest.json", out / "latest.md", out / "latest.png"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(markdown(result, paths[2].name))
    write_plot(result, paths[2])
    return paths


def _rates(text: str) -> list[float]:
    return [float(r) for r in text.split(",") if r.strip()]


def mode_rates(mode: str, rates: str | None, http_rates: str | None) -> dict[str, list[float]]:
    """The modes to run and their rates: ``rates`` for every mode unless ``http_rates``."""
    kafka = _rates(rates or KAFKA_RATES)
    http = _rates(http_rates or rates or HTTP_RATES)
    chosen = {"kafka": kafka, "http": http}
    return {m: r for m, r in chosen.items() if mode in (m, "both")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("kafka", "http", "both"), default="both")
    parser.add_argument("--rates", help=f"orders/s per step (default Kafka {KAFKA_RATES})")
    parser.add_argument("--http-rates", help=f"HTTP orders/s per step (default {HTTP_RATES})")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kafka-messages", type=int, default=50_000)
    parser.add_argument(
        "--stop-after", type=int, default=2,
        help="skip a mode's higher rates after this many overloaded steps in a row",
    )  # fmt: skip
    parser.add_argument("--burst", type=int, default=0, help="orders at once (0: no burst)")
    parser.add_argument("--burst-timeout", type=float, default=300.0, help="seconds")
    parser.add_argument(
        "--warm-up", type=float, default=WARM_UP_S,
        help=f"unrecorded seconds at up to {WARM_UP_RATE:.0f}/s before each mode's steps",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    parser.add_argument(
        "--no-ceilings", action="store_true", help="load steps only (quicker comparisons)"
    )
    args = parser.parse_args()
    result = asyncio.run(
        main(
            mode_rates(args.mode, args.rates, args.http_rates),
            args.seconds,
            args.kafka_messages,
            args.stop_after,
            not args.no_ceilings,
            args.burst,
            args.burst_timeout,
            args.warm_up,
        )
    )
    written = write_results(result, args.out)
    console.print(markdown(result, None))
    console.print("wrote " + ", ".join(str(p) for p in written))
