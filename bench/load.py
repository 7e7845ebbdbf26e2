"""Open-loop load through the whole system (an order is offered -> saga -> completed),
measuring per step: achieved completions/s, submitted->completed latency percentiles,
consumer lag and outbox backlog at the end of the step, and CPU/memory of every process.
Successful-order mix only (tok_ok, in-stock SKUs).

The offer is pluggable: checkout's HTTP API here (``http_offer``), the upstream Kafka
door in bench/door.py. An offer sends its orders at the step's schedule and returns a
``Progress``: which orders are placed so far (order id -> submit time) and how many to
expect, asked again while the completions are collected."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench.hops import hops, submit_to_checkout
from orderflow_cli.demo import NORMAL_SKUS
from orderflow_cli.placing import retry_after, send_until_answered
from orderflow_cli.stack import services
from orderflow_cli.verify import pending_outbox_rows

GROUPS = {
    "checkout-inbound": ("orders.inbound",),
    "inventory": ("inventory.commands",),
    "payment": ("payment.commands",),
    "shipping": ("shipping.commands",),
    "orders": ("checkout.events", "inventory.events", "payment.events", "shipping.events"),
}
GRACE_S = 10.0


@dataclass
class Offered:
    """What an offer has placed so far: order id -> submit time (epoch s), how many
    orders to expect in all (placed, or still to be answered), and how many were refused."""

    placed: dict[str, float]
    expected: int
    refused: int = 0
    generator_lag_ms: float | None = None
    rejected_at: list[float] = field(default_factory=list)  # when each refusal was read
    deferred: int = 0  # 503 + Retry-After answers honoured (the request was sent again)


Progress = Callable[[], Offered]
Offer = Callable[[], Awaitable[Progress]]


@dataclass
class Step:
    rate: float
    seconds: float
    mode: str = "http"
    placed: int = 0
    refused: int = 0
    deferred: int = 0
    completed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lag_end: int = 0
    lag_start: int = 0
    outbox_backlog: int = 0
    processes: dict[str, dict[str, float]] = field(default_factory=dict)
    wall_s: float = 0.0
    generator_lag_ms: float | None = None
    completed_ids: list[str] = field(default_factory=list)
    hops: list[dict[str, Any]] = field(default_factory=list)
    submit_to_checkout_ms: dict[str, float | None] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        # CPU time of every process (services, broker, PostgreSQL) per completed order:
        # less sensitive than latency to what else runs on the machine.
        total, by_process = cpu_ms_per_order(self.processes, self.completed)
        return {
            "mode": self.mode,
            "target_orders_per_s": self.rate,
            "achieved_orders_per_s": round(self.completed / self.seconds, 1),
            "placed": self.placed,
            "refused": self.refused,
            "deferred": self.deferred,
            "completed": self.completed,
            **percentiles(self.latencies_ms),
            "lag_start": self.lag_start,
            "lag_end": self.lag_end,
            "outbox_backlog_end": self.outbox_backlog,
            "generator_lag_ms": self.generator_lag_ms,
            "cpu_ms_per_order": total,
            "cpu_ms_per_order_by_process": by_process,
            "processes": self.processes,
            "hops": self.hops,
            "submit_to_checkout_ms": self.submit_to_checkout_ms,
        }


def percentiles(latencies_ms: list[float]) -> dict[str, float | None]:
    lat = sorted(latencies_ms)

    def pct(p: int) -> float | None:
        if len(lat) < 2:
            return round(lat[0], 1) if lat else None
        return round(statistics.quantiles(lat, n=100, method="inclusive")[p - 1], 1)

    return {"p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99)}


def cpu_ms_per_order(
    processes: dict[str, dict[str, float]], orders: int
) -> tuple[float | None, dict[str, float]]:
    """CPU milliseconds per order, in all and per process (from each one's ``cpu_s``)."""
    if not orders:
        return None, {}
    by_process = {n: round(1000 * p["cpu_s"] / orders, 2) for n, p in sorted(processes.items())}
    return round(1000 * sum(p["cpu_s"] for p in processes.values()) / orders, 1), by_process


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
    return sum((await pending_outbox_rows(conn)).values())


def _tree(pid: int, exclude: Iterable[int] = ()) -> list[psutil.Process]:
    """A process and its children (PostgreSQL's work happens in its backends), without
    ``exclude`` (the benchmark's own database backends)."""
    proc = psutil.Process(pid)
    skip = set(exclude)
    return [p for p in (proc, *proc.children(recursive=True)) if p.pid not in skip]


def cpu_now(pids: dict[str, int], exclude: Iterable[int] = ()) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each named process tree, per process id."""
    out: dict[str, dict[int, float]] = {}
    for name, pid in pids.items():
        try:
            tree = _tree(pid, exclude)
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
    pids: dict[str, int],
    seconds: float,
    before: dict[str, dict[int, float]],
    exclude: Iterable[int] = (),
) -> dict[str, dict[str, float]]:
    """CPU seconds and % (of one core) over the step and memory of each named process
    tree; memory counts private pages only (shared buffers would be counted once per
    backend)."""
    usage = {}
    after = cpu_now(pids, exclude)
    for name, pid in pids.items():
        if name not in after:
            continue
        spent = sum(t - before.get(name, {}).get(p, 0.0) for p, t in after[name].items())
        rss = 0
        try:
            for proc in _tree(pid, exclude):
                info = proc.memory_info()
                rss += info.rss - getattr(info, "shared", 0)
        except psutil.Error:
            pass
        usage[name] = {
            "cpu_s": round(spent, 3),
            "cpu_pct": round(100 * spent / seconds, 1),
            "rss_mb": round(rss / 2**20),
        }
    return usage


def http_offer(session: aiohttp.ClientSession, step: Step) -> Offer:
    """POST /orders at the step's rate (open loop, at most 64 requests in flight).

    The client is aiohttp (its HTTP parser is C): the load generator runs on the same
    two cores as the system it measures, and httpx, the client before, took 7.3 ms of
    CPU per request (docs/performance.md, "The HTTP door's load generator and
    parser")."""

    async def offer() -> Progress:
        placed: dict[str, float] = {}
        refused = deferred = 0
        gate = asyncio.Semaphore(64)
        start = time.monotonic()
        url = services.url("checkout") + "/orders"

        async def one(i: int) -> None:
            nonlocal refused, deferred
            await asyncio.sleep(max(0.0, start + i / step.rate - time.monotonic()))
            body, key = _body(i), str(uuid.uuid4())

            async def send() -> _Answer:
                async with gate:
                    return await _post(session, url, body, key)

            # Past capacity checkout answers 503 + Retry-After: wait (outside the gate:
            # the open loop goes on), then send the same request again; so after a lost
            # connection (a keep-alive connection the server closed as it was reused).
            # The order's latency counts from the request that was accepted.
            try:
                answered = await send_until_answered(
                    send, lambda a: a.retry_after_s, _LOST, budget_s=60.0
                )
            except _LOST:
                refused += 1
                return
            deferred += answered.deferred
            answer = answered.answer
            if answer.status == 202 and answer.order_id:
                placed[answer.order_id] = answered.sent_at
            else:
                refused += 1

        await asyncio.gather(*(one(i) for i in range(int(step.rate * step.seconds))))
        done = Offered(placed, len(placed), refused, deferred=deferred)
        return lambda: done

    return offer


@dataclass(frozen=True)
class _Answer:
    status: int
    order_id: str | None
    retry_after_s: float | None  # a 503's advised wait


_LOST = (aiohttp.ClientError, TimeoutError)  # the connection failed: no answer


async def _post(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], key: str
) -> _Answer:
    """One POST /orders (raises one of ``_LOST`` when the connection failed)."""
    async with session.post(url, json=body, headers={"Idempotency-Key": key}) as response:
        if response.status == 202:
            return _Answer(202, (await response.json())["order_id"], None)
        await response.read()
        return _Answer(response.status, None, retry_after(response.status, response.headers))


async def run_step(step: Step, ctx: dict[str, Any], offer: Offer) -> Step:
    start = time.monotonic()
    step.lag_start = await total_lag(ctx["admin"], ctx["kafka"])
    cpu_before = cpu_now(ctx["pids"], ctx["exclude"])
    progress = await offer()
    elapsed = time.monotonic() - start
    found = await collect(progress, ctx["db"], grace_s=GRACE_S)
    offered = progress()
    step.placed, step.refused = offered.expected, offered.refused
    step.deferred = offered.deferred
    step.generator_lag_ms = offered.generator_lag_ms
    step.completed = len(found)
    step.completed_ids = list(found)
    step.latencies_ms = [max(0.0, (at - offered.placed[o]) * 1000) for o, (_, at) in found.items()]
    step.seconds = max(step.seconds, elapsed)
    step.lag_end = await total_lag(ctx["admin"], ctx["kafka"])
    step.outbox_backlog = await outbox_backlog(ctx["db"])
    step.wall_s = time.monotonic() - start
    step.processes = process_usage(ctx["pids"], step.wall_s, cpu_before, ctx["exclude"])
    step.hops = await hops(ctx["db"], step.completed_ids)
    submitted = {o: offered.placed[o] for o in step.completed_ids}
    step.submit_to_checkout_ms = await submit_to_checkout(ctx["db"], submitted)
    return step


async def collect(
    progress: Progress,
    db: asyncpg.Connection,
    grace_s: float,
    statuses: tuple[str, ...] = ("COMPLETED",),
    poll_s: float = 0.5,
) -> dict[str, tuple[str, float]]:
    """order id -> (status, epoch s) of the first of ``statuses`` each placed order
    reached, until every expected order has, or ``grace_s`` have passed."""
    found: dict[str, tuple[str, float]] = {}
    deadline = time.monotonic() + grace_s
    while True:
        offered = progress()
        pending = [o for o in offered.placed if o not in found]
        if pending:
            rows = await db.fetch(
                "SELECT DISTINCT ON (order_id) order_id, to_status, at "
                "FROM orders.saga_history WHERE order_id = ANY($1::text[]) "
                "AND to_status = ANY($2::text[]) ORDER BY order_id, at",
                pending, list(statuses),
            )  # fmt: skip
            found.update({r["order_id"]: (r["to_status"], r["at"].timestamp()) for r in rows})
        if len(found) >= offered.expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(poll_s)
