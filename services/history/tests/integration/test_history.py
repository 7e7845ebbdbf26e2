"""The history service on the real PostgreSQL: records through its consumer (inbox,
routing, ignored types), facts in any order, a batch of many orders against one fact at
a time, concurrent batches of the same orders, and the HTTP read API."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from asyncpg.connection import LoggedQuery
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from history.adapters.repository import OrderHistoryRepository
from history.application.rebuild import Rebuild
from history.bootstrap import MIGRATIONS
from history.domain.projection import Fulfilment, OrderHistory, Status
from history.entrypoints.http import build_router
from history.entrypoints.messages import build_consumer, on_order_facts
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import Address, Money, OrderDelivery, PricedLineV4
from orderflow_contracts.orders import OrderCancelled, OrderCompleted, OrderConfirmed
from orderflow_contracts.shipping import ShipmentCreated, ShipmentDelivered, ShipmentDispatched
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings
from orderflow_service.http import create_app
from orderflow_testing.batches import DeliveredRecord, delivered, run_batch
from orderflow_testing.plugin import MigratedSchema

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
TOPIC_OF = {"OrderPlaced": "checkout.events", "ShipmentCreated": "shipping.events"}


_offsets = iter(range(1_000_000))


def record(
    message: Message, order_id: str, seconds: float, message_id: UUID | None = None
) -> DeliveredRecord:
    envelope = Envelope(
        message_id=message_id or uuid4(), type=message.TYPE, version=message.VERSION,
        occurred_at=T0 + timedelta(seconds=seconds), producer="test",
        correlation_id=order_id, payload=message.model_dump(mode="json"),
    )  # fmt: skip
    topic = TOPIC_OF.get(
        message.TYPE, "shipping.events" if "Shipment" in message.TYPE else "orders.events"
    )
    return delivered(topic, next(_offsets), envelope)


def placed(order_id: str, customer_id: str = "c1", minutes: int = 0) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id, customer_id=customer_id,
        lines=[PricedLineV4(sku="TEE", quantity=2, unit_price=Money(amount_minor=1250, currency="EUR"), price_source="default:spring")],
        total=Money(amount_minor=2500, currency="EUR"),
        shipping_address=Address(name="Ada", line1="1 Main St", city="Berlin", postcode="10115", country="DE"),
        payment_token="tok_ok", placed_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


@pytest.fixture
async def engine(migrated_schema: MigratedSchema) -> AsyncEngine:
    return (await migrated_schema(MIGRATIONS)).engine


@pytest.fixture
def consumer(engine: AsyncEngine) -> MessageConsumer:
    return build_consumer(engine, ConsumerSettings(backoff_initial_s=0.01), FixedClock(T0))


async def row(engine: AsyncEngine, order_id: str) -> OrderHistory:
    async with engine.connect() as conn:
        found = await OrderHistoryRepository(conn).get(order_id)
    assert found is not None, f"no history row for {order_id}"
    return found


async def scalar(engine: AsyncEngine, sql: str) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql))


async def test_consumed_events_build_the_row_once_each(
    engine: AsyncEngine, consumer: MessageConsumer
) -> None:
    completed = record(OrderCompleted(order_id="o1", total_minor=2500), "o1", 3)
    await consumer.process(
        [
            record(placed("o1"), "o1", 0),
            record(OrderConfirmed(order_id="o1"), "o1", 1),
            record(
                ShipmentCreated(order_id="o1", shipment_id="s", carrier="c", tracking_number="t"),
                "o1",
                2,
            ),
            completed,
        ]
    )
    await consumer.process([completed])  # a redelivery: dropped by the inbox
    await consumer.process([record(ShipmentDispatched(order_id="o1", shipment_id="s"), "o1", 4)])
    got = await row(engine, "o1")
    assert (got.status, got.status_at, got.fulfilment) == (
        Status.COMPLETED,
        T0 + timedelta(seconds=3),
        Fulfilment.DISPATCHED,
    )
    assert (got.customer_id, got.total_minor, got.currency) == ("c1", 2500, "EUR")
    assert got.lines is not None
    assert [(ln.sku, ln.quantity, ln.unit_price_minor) for ln in got.lines] == [("TEE", 2, 1250)]
    assert got.events_applied == 4  # ShipmentCreated ignored, the redelivery not counted
    assert got.updated_at == T0 + timedelta(seconds=4)
    assert await scalar(engine, "SELECT sum(duplicates) FROM inbox") == 1
    ignored = "SELECT status FROM inbox WHERE message_type = 'ShipmentCreated'"
    assert await scalar(engine, ignored) == "ignored"  # accounted for, never applied


async def test_outcome_and_delivery_before_the_placement(
    engine: AsyncEngine, consumer: MessageConsumer
) -> None:
    await consumer.process([record(ShipmentDelivered(order_id="o2", shipment_id="s"), "o2", 9)])
    await consumer.process([record(OrderCancelled(order_id="o2", reason="by customer"), "o2", 8)])
    early = await row(engine, "o2")
    assert (early.status, early.reason, early.customer_id) == (
        Status.CANCELLED,
        "by customer",
        None,
    )
    await consumer.process([record(OrderConfirmed(order_id="o2"), "o2", 1)])  # stale
    await consumer.process([record(placed("o2"), "o2", 0)])
    got = await row(engine, "o2")
    assert (got.status, got.reason, got.fulfilment) == (
        Status.CANCELLED,
        "by customer",
        Fulfilment.DELIVERED,
    )
    assert (got.customer_id, got.events_applied, got.updated_at) == (
        "c1",
        4,
        T0 + timedelta(seconds=9),
    )


async def all_rows(engine: AsyncEngine) -> list[OrderHistory]:
    async with engine.connect() as conn:
        return await OrderHistoryRepository(conn).all()


async def run_timed(engine: AsyncEngine, timed: Sequence[tuple[Message, datetime]]) -> None:
    """One batch through the consumer's handler (``run_batch``), each envelope's
    ``occurred_at`` set as given (``run_batch`` stamps the current time)."""

    async def handler(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
        await on_order_facts(
            batch,
            [
                replace(item, envelope=item.envelope.model_copy(update={"occurred_at": when}))
                for item, (_, when) in zip(items, timed, strict=True)
            ],
        )

    await run_batch(engine, handler, [message for message, _ in timed], producer="history")


async def test_concurrent_facts_of_one_order_lose_no_update(engine: AsyncEngine) -> None:
    # Twenty batches of one new order at once: one inserts the row, the others find it
    # taken at their save, then fold onto it under its lock.
    dispatched = ShipmentDispatched(order_id="o3", shipment_id="s")
    await asyncio.gather(
        *(run_timed(engine, [(dispatched, T0 + timedelta(seconds=s))]) for s in range(20))
    )
    got = await row(engine, "o3")
    assert (got.events_applied, got.updated_at) == (20, T0 + timedelta(seconds=19))
    assert got.fulfilment is Fulfilment.DISPATCHED


def order_messages(order_id: str, n: int) -> list[tuple[Message, float]]:
    """An order's messages and their times; what happens to it depends on ``n``."""
    messages: list[tuple[Message, float]] = [
        (placed(order_id, f"c{n % 7}", minutes=n), 0),
        (OrderConfirmed(order_id=order_id), 1),
    ]
    if n % 3 == 0:
        messages.append((OrderCancelled(order_id=order_id, reason=f"r{n}"), 2))
        return messages
    messages += [
        (ShipmentDispatched(order_id=order_id, shipment_id=f"s{n}"), 3),
        (OrderCompleted(order_id=order_id, total_minor=2500), 4),
        (OrderConfirmed(order_id=order_id), 1),  # a resend (a new message): counted
    ]
    if n % 2 == 0:
        messages.append((ShipmentDelivered(order_id=order_id, shipment_id=f"s{n}"), 5))
    if n % 5 == 0:
        messages.append((OrderCancelled(order_id=order_id, reason="after delivery"), 6))
    return messages


async def test_a_batch_of_50_orders_gives_the_rows_of_one_fact_at_a_time(
    migrated_schema: MigratedSchema,
) -> None:
    mixed = random.Random(11)
    earlier: list[tuple[Message, datetime]] = []  # some orders have a row before the batch
    batch: list[tuple[Message, datetime]] = []
    for n in range(50):
        order_id = f"order-{n:02d}"
        timed = [
            (message, T0 + timedelta(seconds=seconds + n / 100))
            for message, seconds in order_messages(order_id, n)
        ]
        mixed.shuffle(timed)
        cut = 2 if n % 4 == 0 else 0
        earlier += timed[:cut]
        batch += timed[cut:]
    mixed.shuffle(batch)  # orders interleave, each order's facts out of order

    batched = (await migrated_schema(MIGRATIONS)).engine
    await run_timed(batched, earlier)
    await run_timed(batched, batch)
    alone = (await migrated_schema(MIGRATIONS)).engine
    for each in [*earlier, *batch]:
        await run_timed(alone, [each])

    rows = await all_rows(batched)
    assert len(rows) == 50
    assert rows == await all_rows(alone)
    rebuild = Rebuild()  # what `orderflow replay projection order-history` computes
    for message, when in [*earlier, *batch]:
        rebuild.feed(uuid4(), message, when)
    assert rows == sorted(rebuild.rows.values(), key=lambda r: r.order_id)
    assert sum(r.events_applied for r in rows) == len(earlier) + len(batch)
    assert {r.status for r in rows} == {Status.CANCELLED, Status.COMPLETED}
    assert {r.fulfilment for r in rows} == set(Fulfilment)


async def test_a_batch_costs_two_statements_whatever_its_size(engine: AsyncEngine) -> None:
    statements: list[str] = []

    def log(query: LoggedQuery) -> None:
        # Not asyncpg's own type introspection, done once per connection and statement.
        if "order_history" in query.query:
            statements.append(query.query)

    async def counted(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
        with batch.conn.query_logger(log):
            await on_order_facts(batch, items)

    async def cost(messages: Sequence[Message]) -> int:
        statements.clear()
        await run_batch(engine, counted, messages, producer="history")
        return len(statements)

    assert await cost([placed(f"n{n}") for n in range(3)]) == 2
    many: list[Message] = [placed(f"m{n}") for n in range(30)]  # new orders
    many += [OrderConfirmed(order_id=f"n{n % 3}") for n in range(30)]  # existing ones
    assert await cost(many) == 2
    assert (await row(engine, "n1")).events_applied == 11


async def test_concurrent_batches_of_the_same_new_orders_apply_every_fact_once(
    engine: AsyncEngine,
) -> None:
    orders = [f"shared-{n}" for n in range(5)]

    def batch(k: int) -> list[tuple[Message, datetime]]:
        # Every batch holds each order's facts, in its own order.
        facts: list[tuple[Message, datetime]] = []
        for n, order_id in enumerate(orders):
            facts += [
                (OrderConfirmed(order_id=order_id), T0 + timedelta(seconds=k)),
                (ShipmentDispatched(order_id=order_id, shipment_id="s"), T0 + timedelta(seconds=n)),
            ]
        return facts[k % 3 :] + facts[: k % 3]

    await asyncio.gather(*(run_timed(engine, batch(k)) for k in range(10)))
    for order_id in orders:
        got = await row(engine, order_id)
        assert got.events_applied == 20
        assert (got.status, got.status_at) == (Status.CONFIRMED, T0 + timedelta(seconds=9))
        assert got.fulfilment is Fulfilment.DISPATCHED


@pytest.fixture
async def http(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app("history", routers=[build_router(engine)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://history") as client:
        yield client


async def test_an_orders_delivery_and_its_price_are_shown(
    consumer: MessageConsumer, http: httpx.AsyncClient
) -> None:
    order = placed("d", "dora")
    delivery = OrderDelivery(
        method_id="simpoint", kind="pickup", carrier="SimPoint", price_minor=290, zone="eu",
        weight_g=400, pickup_point="point-berlin-1",
        pickup_address=Address(name="Dora at SimPoint Mitte", line1="2 Point St",
                               city="Berlin", postcode="10117", country="DE"),
    )  # fmt: skip
    total = Money(amount_minor=2790, currency="EUR")
    await consumer.process(
        [record(order.model_copy(update={"delivery": delivery, "total": total}), "d", 0)]
    )
    body = (await http.get("/history/orders/d")).json()
    assert body["total_minor"] == 2790
    assert body["delivery"] == {
        "method_id": "simpoint", "kind": "pickup", "carrier": "SimPoint", "price_minor": 290,
        "pickup_point": "point-berlin-1",
    }  # fmt: skip


async def test_http_reads_one_order_and_a_customers_orders(
    consumer: MessageConsumer, http: httpx.AsyncClient
) -> None:
    await consumer.process(
        [
            record(placed("a", "alice", minutes=1), "a", 0),
            record(placed("b", "alice", minutes=2), "b", 0),
            record(placed("c", "bob"), "c", 0),
            record(OrderCompleted(order_id="a", total_minor=2500), "a", 5),
        ]
    )
    one = await http.get("/history/orders/a")
    assert one.status_code == 200
    body = one.json()
    assert (body["status"], body["customer_id"], body["fulfilment"]) == (
        "completed",
        "alice",
        "none",
    )
    assert body["lines"] == [
        {
            "sku": "TEE",
            "quantity": 2,
            "unit_price_minor": 1250,
            "currency": "EUR",
            "price_source": "default:spring",
            "price_rule": None,
            "discount_minor": 0,
            "promotions": [],
        }
    ]
    assert body["events_applied"] == 2
    assert body["delivery"] is None  # none chosen
    assert (await http.get("/history/orders/nope")).status_code == 404
    mine = await http.get("/history/customers/alice/orders")
    assert [o["order_id"] for o in mine.json()] == ["b", "a"]  # newest first
    limited = await http.get("/history/customers/alice/orders", params={"limit": 1})
    assert [o["order_id"] for o in limited.json()] == ["b"]
    assert (await http.get("/history/customers/nobody/orders")).json() == []


async def test_a_customers_orders_are_filtered_and_paged_by_cursor(
    consumer: MessageConsumer, http: httpx.AsyncClient
) -> None:
    placements = [record(placed(f"p{n}", "paula", minutes=n), f"p{n}", 0) for n in range(5)]
    await consumer.process(
        [
            *placements,
            record(OrderCompleted(order_id="p1", total_minor=2500), "p1", 5),
            record(OrderCompleted(order_id="p3", total_minor=2500), "p3", 5),
            record(OrderCancelled(order_id="p4", reason="by customer"), "p4", 5),
        ]
    )
    base = "/history/customers/paula/orders"

    async def ids(**params: Any) -> tuple[list[str], str | None]:
        response = await http.get(base, params=params)
        assert response.status_code == 200, response.text
        return [o["order_id"] for o in response.json()], response.headers.get("link")

    assert (await ids())[0] == ["p4", "p3", "p2", "p1", "p0"]  # newest placed first
    assert (await ids(status=["completed", "cancelled"]))[0] == ["p4", "p3", "p1"]
    window = {"placed_from": (T0 + timedelta(minutes=1)).isoformat(),
              "placed_to": (T0 + timedelta(minutes=3)).isoformat()}  # fmt: skip
    assert (await ids(**window))[0] == ["p2", "p1"]  # from inclusive, to exclusive

    first, link = await ids(limit=2, status="placed")
    assert first == ["p2", "p0"]
    assert link is None  # two only: no next page
    seen, link = await ids(limit=2)
    while link is not None:
        assert link.endswith('>; rel="next"')
        assert "limit=2" in link
        # A new order placed meanwhile (newest) neither repeats nor skips a row.
        await consumer.process([record(placed(f"new{len(seen)}", "paula", minutes=9), "n", 0)])
        page = await http.get(link[1 : link.index(">")])
        assert page.status_code == 200
        seen += [o["order_id"] for o in page.json()]
        link = page.headers.get("link")
    assert seen == ["p4", "p3", "p2", "p1", "p0"]

    for params, field in (
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"status": "lost"}, "status"),
        (
            {"placed_from": "2026-03-02T00:00:00+00:00", "placed_to": "2026-03-01T00:00:00+00:00"},
            "placed_to",
        ),
        ({"placed_from": "2026-03-01T00:00:00"}, "placed_from"),  # no zone
        ({"placed_to": "0001-01-01T00:02:01+01:01"}, "placed_to"),  # no UTC form
        ({"placed_to": "0.5"}, "placed_to"),  # not read as a Unix time
    ):
        refused = await http.get(base, params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["detail"][0]["loc"][:2] == ["query", field]
