"""The history service on the real PostgreSQL: records through its consumer (inbox,
routing, ignored types), facts in any order, concurrent facts of one order, and the
HTTP read API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from history.adapters.repository import OrderHistoryRepository
from history.application import handlers
from history.application.unit_of_work import HistoryUnitOfWork
from history.bootstrap import MIGRATIONS
from history.domain.projection import Fulfilment, OrderHistory, ShipmentProgressed, Status
from history.entrypoints.http import build_router
from history.entrypoints.messages import build_consumer
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import Address, Money, PricedLineV2
from orderflow_contracts.orders import OrderCancelled, OrderCompleted, OrderConfirmed
from orderflow_contracts.shipping import ShipmentCreated, ShipmentDelivered, ShipmentDispatched
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import MessageConsumer
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
TOPIC_OF = {"OrderPlaced": "checkout.events", "ShipmentCreated": "shipping.events"}


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()


_offsets = iter(range(1_000_000))


def record(
    message: Message, order_id: str, seconds: float, message_id: UUID | None = None
) -> Record:
    envelope = Envelope(
        message_id=message_id or uuid4(), type=message.TYPE, version=message.VERSION,
        occurred_at=T0 + timedelta(seconds=seconds), producer="test",
        correlation_id=order_id, payload=message.model_dump(mode="json"),
    )  # fmt: skip
    topic = TOPIC_OF.get(
        message.TYPE, "shipping.events" if "Shipment" in message.TYPE else "orders.events"
    )
    return Record(topic, 0, next(_offsets), envelope.to_bytes(), order_id.encode())


def placed(order_id: str, customer_id: str = "c1", minutes: int = 0) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id, customer_id=customer_id,
        lines=[PricedLineV2(sku="TEE", quantity=2, unit_price=Money(amount_minor=1250, currency="EUR"))],
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


async def test_concurrent_facts_of_one_order_lose_no_update(engine: AsyncEngine) -> None:
    async def one(seconds: int) -> None:
        fact = ShipmentProgressed("o3", T0 + timedelta(seconds=seconds), Fulfilment.DISPATCHED)
        async with engine.begin() as conn:
            await handlers.record_fact(HistoryUnitOfWork(conn), fact)

    await asyncio.gather(*(one(s) for s in range(20)))
    got = await row(engine, "o3")
    assert (got.events_applied, got.updated_at) == (20, T0 + timedelta(seconds=19))


@pytest.fixture
async def http(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app("history", routers=[build_router(engine)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://history") as client:
        yield client


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
        {"sku": "TEE", "quantity": 2, "unit_price_minor": 1250, "currency": "EUR"}
    ]
    assert body["events_applied"] == 2
    assert (await http.get("/history/orders/nope")).status_code == 404
    mine = await http.get("/history/customers/alice/orders")
    assert [o["order_id"] for o in mine.json()] == ["b", "a"]  # newest first
    limited = await http.get("/history/customers/alice/orders", params={"limit": 1})
    assert [o["order_id"] for o in limited.json()] == ["b"]
    assert (await http.get("/history/customers/nobody/orders")).json() == []
