"""`orderflow demo`: place a realistic mix of orders over HTTP and watch them finish.

Orders go through checkout's public API (as a shop front end would); a few more come
from an upstream system through the Kafka door, every other one cancelled by it right
after (demo_upstream.py); a tenth of the completed orders are then returned
(demo_returns.py). Progress is read from the orders service's saga table (the
admin URL in stack.env), so watching costs one query per poll however many orders are
in flight.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderflow_cli.demo_prices import (
    DEMO_BUNDLE,
    DEMO_COUPON,
    DEMO_EXPRESS,
    DEMO_HOME,
    DEMO_PICKUP,
    DEMO_PICKUP_POINTS,
    set_up_bundle,
    set_up_price_data,
)
from orderflow_cli.demo_returns import DemoReturn, pick_returns, returns_summary, run_returns
from orderflow_cli.demo_upstream import (
    UpstreamOrder,
    make_upstream,
    submit_and_cancel,
    upstream_summary,
)
from orderflow_cli.placing import post_order
from orderflow_cli.stack import services

TERMINAL = ("COMPLETED", "REJECTED", "CANCELLED", "COMPENSATION_FAILED", "RESOLVED")
NORMAL_SKUS = (
    "TEE-BLK-M", "TEE-WHT-L", "HOODIE-GRY-M", "CAP-NVY", "MUG-ENAMEL",
    "BOTTLE-750", "SOCKS-3PK", "TOTE-CANVAS",
)  # fmt: skip

# (weight, token, postcode, sku override): mostly happy orders, some of every failure.
MIX: tuple[tuple[int, str, str, str | None], ...] = (
    (80, "tok_ok", "10115", None),
    (3, "tok_flaky", "10115", None),
    (5, "tok_ok", "10115", "SOLD-OUT"),
    (3, "tok_decline", "10115", None),
    (2, "tok_insufficient_funds", "10115", None),
    (4, "tok_ok", "00999", None),
    (3, "tok_timeout", "10115", None),
    (2, "tok_ok", "98100", None),  # completes; the parcel comes back to the sender
)


# Orders that bring the demo coupon (once per customer: a repeat is rejected by the saga,
# which redeems it first).
COUPON_SHARE = 0.2
BUNDLE_SHARE = 0.15  # orders that add the demo bundle (reserved as its components)
# How the orders are delivered: (weight, method); None: no method chosen (no delivery
# charged, the default carrier). Pickup only where the carrier accepts the customer's
# postcode: a pickup parcel goes to the point, which would hide the address failures.
DELIVERY_MIX: tuple[tuple[int, str | None], ...] = (
    (50, DEMO_HOME), (15, DEMO_EXPRESS), (20, DEMO_PICKUP), (15, None),
)  # fmt: skip


@dataclass
class DemoOrder:
    key: str
    body: dict[str, Any]
    order_id: str | None = None
    placed_at: float = 0.0
    status: str | None = None
    latency_ms: float | None = None
    http_error: str | None = None


@dataclass
class DemoResult:
    orders: list[DemoOrder] = field(default_factory=list)
    upstream: list[UpstreamOrder] = field(default_factory=list)
    # The upstream's orders as the watch followed them (those it placed).
    door_orders: list[DemoOrder] = field(default_factory=list)
    returns: list[DemoReturn] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Outcomes of every order placed (HTTP and the upstream's), and the upstream's
        answers."""
        counts = {s.lower(): 0 for s in TERMINAL}
        orders = self.orders + self.door_orders
        for order in orders:
            if order.status in TERMINAL:
                counts[order.status.lower()] += 1
        latencies = sorted(o.latency_ms for o in orders if o.latency_ms is not None)
        return {
            "orders": len(orders),
            **counts,
            "pending": sum(1 for o in orders if o.status not in TERMINAL),
            "http_rejected": sum(1 for o in self.orders if o.http_error),
            "latency_ms": {
                "p50": _percentile(latencies, 50),
                "p95": _percentile(latencies, 95),
                "p99": _percentile(latencies, 99),
            },
            "upstream": upstream_summary(self.upstream),
            "returns": returns_summary(self.returns),
        }


def _percentile(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[pct - 1], 1)


def make_orders(count: int, seed: int | None = None) -> list[DemoOrder]:
    rng = random.Random(seed)
    weights = [m[0] for m in MIX]
    orders = []
    for i in range(count):
        _, token, postcode, sku = rng.choices(MIX, weights)[0]
        lines = [
            {"sku": sku or rng.choice(NORMAL_SKUS), "quantity": rng.randint(1, 3)}
            for _ in range(1 if sku else rng.randint(1, 3))
        ]
        body = {
            "customer_id": f"cust-{rng.randint(1, 500)}",
            "lines": lines,
            "shipping_address": {
                "name": f"Demo Customer {i}",
                "line1": f"{rng.randint(1, 200)} Demo Street",
                "city": "Berlin",
                "postcode": postcode,
                "country": "DE",
            },
            "payment_token": token,
            "currency": "EUR",
        }
        if rng.random() < COUPON_SHARE:
            body["coupons"] = [DEMO_COUPON.lower()]
        if sku is None and rng.random() < BUNDLE_SHARE:
            lines.append({"sku": DEMO_BUNDLE, "quantity": 1})
        method = rng.choices([m for _, m in DELIVERY_MIX], [w for w, _ in DELIVERY_MIX])[0]
        if method == DEMO_PICKUP and postcode == "10115":
            body["delivery"] = {"method": method, "pickup_point": rng.choice(DEMO_PICKUP_POINTS)}
        elif method in (DEMO_HOME, DEMO_EXPRESS):
            body["delivery"] = {"method": method}
        # The key follows the seed and the body: the same seed gives the same orders under
        # the same keys, and a demo whose orders changed (a new version) never reuses a
        # key for a different request.
        seeded = uuid.UUID(int=rng.getrandbits(128))
        key = uuid.uuid5(seeded, json.dumps(body, sort_keys=True))
        orders.append(DemoOrder(key=str(key), body=body))
    return orders


async def wait_for_catalog(client: httpx.AsyncClient, timeout_s: float = 60.0) -> None:
    """Checkout learns the catalog from events; wait until it knows every demo SKU."""
    needed = {*NORMAL_SKUS, "SOLD-OUT"}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            response = await client.get(services.url("checkout") + "/catalog")
            if response.status_code == 200 and needed <= {i["sku"] for i in response.json()}:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("checkout has not received the catalog (is the catalog service up?)")


async def place(client: httpx.AsyncClient, order: DemoOrder) -> None:
    url = services.url("checkout") + "/orders"
    for attempt in range(5):
        try:
            response = (await post_order(client, url, order.body, order.key)).response
        except httpx.HTTPError as exc:  # retry with the same key: idempotent
            order.http_error = repr(exc)
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code == 202:
            order.order_id = response.json()["order_id"]
            order.http_error = None
        else:
            order.http_error = f"{response.status_code}: {response.text[:200]}"
        return


async def run_demo(
    count: int,
    admin_url: str,
    bootstrap: str,
    *,
    concurrency: int = 16,
    rate: float = 15.0,
    timeout_s: float = 180.0,
    seed: int | None = None,
    show_progress: bool = True,
) -> DemoResult:
    """``count`` orders over HTTP, and a tenth as many (at least two) from the upstream
    door, half of those cancelled by it."""
    result = DemoResult(make_orders(count, seed))
    # A seed repeats the references too: a rerun gets the same answers (idempotent door).
    run = f"seed{seed}" if seed is not None else uuid.uuid4().hex[:8]
    result.upstream = make_upstream(max(2, count // 10), run)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=15.0, limits=limits) as client:
        await wait_for_catalog(client)
        await set_up_price_data(client)
        await set_up_bundle(client)
        with _progress(show_progress) as progress:
            placed = progress.add_task("placing", total=count + len(result.upstream))
            await _place_all(client, result.orders, concurrency, rate, progress, placed)
            await submit_and_cancel(bootstrap, result.upstream)
            progress.advance(placed, len(result.upstream))
            result.door_orders = [_watched(o) for o in result.upstream if o.order_id]
            watched = result.orders + result.door_orders
            finished = progress.add_task("finished", total=len(watched))
            await _watch(admin_url, watched, progress, finished, timeout_s)
            result.returns = pick_returns(_delivered_home(result.orders))
            returned = progress.add_task("returns", total=None)
            await run_returns(client, result.returns, timeout_s)
            progress.update(returned, total=len(result.returns), completed=len(result.returns))
    return result


def _delivered_home(orders: list[DemoOrder]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Completed orders whose parcel the carrier delivers (not the 98... postcodes)."""
    return [
        (o.order_id, o.body["lines"]) for o in orders
        if o.order_id and o.status == "COMPLETED"
        and not o.body["shipping_address"]["postcode"].startswith("98")
    ]  # fmt: skip


def _watched(order: UpstreamOrder) -> DemoOrder:
    """An upstream order as the watch follows it (its latency from its submission)."""
    return DemoOrder(order.reference, {}, order_id=order.order_id, placed_at=order.placed_at)


async def _place_all(
    client: httpx.AsyncClient,
    orders: list[DemoOrder],
    concurrency: int,
    rate: float,
    progress: Progress,
    task: Any,
) -> None:
    """Open-loop arrivals at ``rate`` orders/s (0: all at once, a burst)."""
    gate = asyncio.Semaphore(concurrency)
    start = time.monotonic()

    async def one(index: int, order: DemoOrder) -> None:
        if rate > 0:
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        async with gate:
            order.placed_at = time.time()
            await place(client, order)
            progress.advance(task)

    await asyncio.gather(*(one(i, o) for i, o in enumerate(orders)))


async def _watch(
    admin_url: str, orders: list[DemoOrder], progress: Progress, task: Any, timeout_s: float
) -> None:
    by_id = {o.order_id: o for o in orders if o.order_id}
    for order in orders:
        if order.order_id is None:
            progress.advance(task)
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pending = [oid for oid, o in by_id.items() if o.status not in TERMINAL]
            if not pending:
                return
            rows = await conn.fetch(
                """
                SELECT s.order_id, s.status,
                       (SELECT min(h.at) FROM orders.saga_history h
                        WHERE h.order_id = s.order_id AND h.to_status = s.status) AS reached_at
                FROM orders.sagas s WHERE s.order_id = ANY($1::text[])
                """,
                pending,
            )
            for row in rows:
                order = by_id[row["order_id"]]
                if row["status"] in TERMINAL:
                    order.status = row["status"]
                    reached: datetime = row["reached_at"] or datetime.now(UTC)
                    order.latency_ms = max(0.0, (reached.timestamp() - order.placed_at) * 1000)
                    progress.advance(task)
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:>9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )
