"""Open-loop load at rising rates through the whole system (checkout HTTP -> saga ->
completed), measuring per step: achieved completions/s, placed->completed latency
percentiles, consumer lag and outbox backlog at the end of the step, and CPU/memory of
every process. Successful-order mix only (tok_ok, in-stock SKUs)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench.hops import hops
from orderflow_cli.demo import NORMAL_SKUS
from orderflow_cli.stack import services
from orderflow_cli.verify import schemas_with

GROUPS = {
    "inventory": ("inventory.commands",),
    "payment": ("payment.commands",),
    "shipping": ("shipping.commands",),
    "orders": ("checkout.events", "inventory.events", "payment.events", "shipping.events"),
}


@dataclass
class Step:
    rate: float
    seconds: float
    placed: int = 0
    refused: int = 0
    completed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lag_end: int = 0
    lag_start: int = 0
    outbox_backlog: int = 0
    processes: dict[str, dict[str, float]] = field(default_factory=dict)
    wall_s: float = 0.0
    completed_ids: list[str] = field(default_factory=list)
    hops: list[dict[str, Any]] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        # CPU time of every process (services + broker) per completed order: less
        # sensitive than latency to what else runs on the machine.
        cpu_s = sum(p["cpu_pct"] for p in self.processes.values()) / 100 * self.wall_s

        def pct(p: int) -> float | None:
            if len(lat) < 2:
                return round(lat[0], 1) if lat else None
            return round(statistics.quantiles(lat, n=100, method="inclusive")[p - 1], 1)

        return {
            "target_orders_per_s": self.rate,
            "achieved_orders_per_s": round(self.completed / self.seconds, 1),
            "placed": self.placed,
            "refused": self.refused,
            "completed": self.completed,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "lag_start": self.lag_start,
            "lag_end": self.lag_end,
            "outbox_backlog_end": self.outbox_backlog,
            "cpu_ms_per_order": round(1000 * cpu_s / self.completed, 1) if self.completed else None,
            "processes": self.processes,
            "hops": self.hops,
        }


def _body(i: int) -> dict[str, Any]:
    return {
        "customer_id": f"bench-{i % 1000}",
        "lines": [{"sku": NORMAL_SKUS[i % len(NORMAL_SKUS)], "quantity": 1}],
        "shipping_address": {
            "name": "Bench Customer",
            "line1": "1 Load Street",
            "city": "Berlin",
            "postcode": "10115",
            "country": "DE",
        },
        "payment_token": "tok_ok",
    }


async def total_lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> int:
    lag = 0
    for group, topics in GROUPS.items():
        offsets = await admin.list_consumer_group_offsets(group)
        parts = [tp for tp in offsets if tp.topic in topics]
        ends = await consumer.end_offsets(parts) if parts else {}
        lag += sum(max(0, ends[tp] - offsets[tp].offset) for tp in parts)
    return lag


async def outbox_backlog(conn: asyncpg.Connection) -> int:
    total = 0
    for schema in await schemas_with(conn, "outbox"):
        total += await conn.fetchval(
            f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"  # noqa: S608
        )
    return int(total)


def _tree(pid: int) -> list[psutil.Process]:
    """A process and its children (PostgreSQL's work happens in its backends)."""
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def cpu_now(pids: dict[str, int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each named process tree, per process id."""
    out: dict[str, dict[int, float]] = {}
    for name, pid in pids.items():
        try:
            tree = _tree(pid)
        except psutil.Error:
            continue
        out[name] = {}
        for proc in tree:
            try:
                cpu = proc.cpu_times()
            except psutil.Error:
                continue
            out[name][proc.pid] = cpu.user + cpu.system
    return out


def process_usage(
    pids: dict[str, int], seconds: float, before: dict[str, dict[int, float]]
) -> dict[str, Any]:
    """CPU % (of one core) over the step and memory of each named process tree; memory
    counts private pages only (shared buffers would be counted once per backend)."""
    usage = {}
    after = cpu_now(pids)
    for name, pid in pids.items():
        if name not in after:
            continue
        spent = sum(t - before.get(name, {}).get(p, 0.0) for p, t in after[name].items())
        rss = 0
        try:
            for proc in _tree(pid):
                info = proc.memory_info()
                rss += info.rss - getattr(info, "shared", 0)
        except psutil.Error:
            pass
        usage[name] = {"cpu_pct": round(100 * spent / seconds, 1), "rss_mb": round(rss / 2**20)}
    return usage


async def run_step(step: Step, ctx: dict[str, Any]) -> Step:
    client: httpx.AsyncClient = ctx["client"]
    placed: dict[str, float] = {}
    gate = asyncio.Semaphore(64)
    start = time.monotonic()
    step.lag_start = await total_lag(ctx["admin"], ctx["kafka"])
    cpu_before = cpu_now(ctx["pids"])

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / step.rate - time.monotonic()))
        async with gate:
            sent = time.time()
            try:
                response = await client.post(
                    services.url("checkout") + "/orders", json=_body(i),
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )  # fmt: skip
            except httpx.HTTPError:
                step.refused += 1
                return
            if response.status_code == 202:
                placed[response.json()["order_id"]] = sent
            else:
                step.refused += 1

    await asyncio.gather(*(one(i) for i in range(int(step.rate * step.seconds))))
    elapsed = time.monotonic() - start
    step.placed = len(placed)
    await _collect(step, placed, ctx["db"], grace_s=10.0)
    step.seconds = max(step.seconds, elapsed)
    step.lag_end = await total_lag(ctx["admin"], ctx["kafka"])
    step.outbox_backlog = await outbox_backlog(ctx["db"])
    step.wall_s = time.monotonic() - start
    step.processes = process_usage(ctx["pids"], step.wall_s, cpu_before)
    step.hops = await hops(ctx["db"], step.completed_ids)
    return step


async def _collect(
    step: Step, placed: dict[str, float], db: asyncpg.Connection, grace_s: float
) -> None:
    """Completions that happened within the step plus a short grace for the tail."""
    deadline = time.monotonic() + grace_s
    while True:
        rows = await db.fetch(
            "SELECT order_id, min(at) AS at FROM orders.saga_history "
            "WHERE order_id = ANY($1::text[]) AND to_status = 'COMPLETED' GROUP BY order_id",
            list(placed),
        )
        if len(rows) >= len(placed) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    step.completed = len(rows)
    step.completed_ids = [r["order_id"] for r in rows]
    step.latencies_ms = [
        max(0.0, (r["at"].timestamp() - placed[r["order_id"]]) * 1000) for r in rows
    ]
