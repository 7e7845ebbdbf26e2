"""The upstream door on the real PostgreSQL, fed through the real consumer (door
registry, inbox, one transaction per poll) with records shaped as Kafka delivers them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.batch_store import ConcurrentSubmission, PgSubmissionStore
from checkout.adapters.price_copy import PgPriceCopy
from checkout.adapters.repository import CatalogRepository
from checkout.application.price_copy import newest_changes
from checkout.application.submissions import handle_door_requests
from checkout.bootstrap import MIGRATIONS
from checkout.entrypoints.inbound import build_inbound_consumer, door_registry
from orderflow_contracts.catalog import DeliveryMethodChanged, DeliveryZone, WeightBand
from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.db import hot_pool
from orderflow_messaging.envelope import Envelope, SourceCoordinates
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.settings import ConsumerSettings
from orderflow_testing.batches import delivered as record
from orderflow_testing.plugin import MigratedSchema

from .checkout_app import ADDRESS, CATALOG, NOW

ACCEPTED, REJECTED = "OrderSubmissionAccepted", "OrderSubmissionRejected"


def submission(
    reference: str, sku: str = "TEE-BLK-M", qty: int = 1, **changes: Any
) -> dict[str, Any]:
    payload = {
        "reference": reference,
        "customer_id": "c-42",
        "lines": [{"sku": sku, "quantity": qty}],
        "currency": "EUR",
        "shipping_address": ADDRESS,
        "payment_token": "tok_visa_4242",
    }
    return payload | changes


def v1(payload: dict[str, Any], price: int) -> dict[str, Any]:
    lines = [line | {"expected_unit_price_minor": price} for line in payload["lines"]]
    return payload | {"lines": lines}


def v2(payload: dict[str, Any], price: int) -> dict[str, Any]:
    unit = {"amount_minor": price, "currency": "EUR"}
    return payload | {"lines": [line | {"expected_unit_price": unit} for line in payload["lines"]]}


def envelope(payload: dict[str, Any], version: int = 2, reference: str = "") -> Envelope:
    return Envelope(
        message_id=uuid.uuid4(),
        type="SubmitOrder",
        version=version,
        occurred_at=NOW,
        producer="upstream",
        correlation_id=reference or payload["reference"],
        payload=payload,
    )


def _version(payload: dict[str, Any]) -> int:
    return 1 if "expected_unit_price_minor" in payload["lines"][0] else 2


@dataclass
class Door:
    consumer: MessageConsumer
    engine: AsyncEngine
    offset: int = 0
    sent: list[Envelope] = field(default_factory=list)

    async def poll(self, envelopes: Sequence[Envelope]) -> None:
        """One poll of orders.inbound: ``envelopes`` as one batch."""
        records = []
        for e in envelopes:
            self.offset += 1
            records.append(record("orders.inbound", self.offset, e))
        self.sent += envelopes
        await self.consumer.process(records)

    async def outbox(self) -> list[tuple[str, str, Envelope]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT topic, message_type, value FROM outbox ORDER BY id")
            )
            return [(r.topic, r.message_type, Envelope.model_validate_json(r.value)) for r in rows]

    async def orders(self) -> dict[str, str]:
        """Idempotency key -> order id."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT idempotency_key, order_id FROM orders"))
            return {r.idempotency_key: str(r.order_id) for r in rows}


@pytest.fixture
async def door(migrated_schema: MigratedSchema) -> Door:
    db = await migrated_schema(MIGRATIONS)
    async with db.engine.begin() as conn:
        for item in CATALOG:
            await CatalogRepository(conn).upsert(item, NOW)
    settings = ConsumerSettings(backoff_initial_s=0.01, backoff_max_s=0.01)
    consumer = build_inbound_consumer(db.engine, settings, FixedClock(NOW), SequentialIds(), 2)
    return Door(consumer, db.engine)


async def test_one_poll_of_100_submissions(door: Door) -> None:
    earlier = [submission(f"early-{i}", qty=i + 1) for i in range(5)]
    await door.poll([envelope(p) for p in earlier])
    stored = await door.orders()
    assert len(stored) == 5

    new = [
        v1(submission(f"new-{i:02d}", "MUG-ENAMEL", i % 4 + 1), 1250) if i % 3 == 0
        else v2(submission(f"new-{i:02d}", qty=i % 7 + 1), 1990) if i % 3 == 1
        else submission(f"new-{i:02d}", qty=i % 5 + 1)
        for i in range(77)
    ]  # fmt: skip
    # (envelope, reference, answer, order id or None for a new one, first reason field)
    others: list[tuple[Envelope, str, str, str | None, str | None]] = [
        *((envelope(earlier[i]), f"early-{i}", ACCEPTED, stored[f"upstream:early-{i}"], None)
          for i in range(5)),
        (envelope(earlier[0] | {"customer_id": "c-9"}), "early-0", REJECTED, None, "reference"),
        *((envelope(v2(submission(f"price-{i}"), 1990 + i + 1)), f"price-{i}", REJECTED, None,
           "lines[0].expected_unit_price") for i in range(5)),
        (envelope(submission("sku-1", "NOPE-404")), "sku-1", REJECTED, None, "lines[0].sku"),
        (envelope(submission("sku-2", "RETIRED-HAT")), "sku-2", REJECTED, None, "lines[0].sku"),
        (envelope(submission("sku-3", "US-ONLY")), "sku-3", REJECTED, None, "lines[0].sku"),
        (envelope(submission("sku-4", currency="USD")), "sku-4", REJECTED, None, "lines[0].sku"),
        (envelope(submission("bad-1", qty=-1, payment_token="card"), reference="bad-1"),
         "bad-1", REJECTED, None, "lines[0].quantity"),
        (envelope({"reference": "bad-2"}), "bad-2", REJECTED, None, "customer_id"),
        (envelope(submission("bad-3", currency="euro"), version=1), "bad-3", REJECTED, None,
         "currency"),
    ]  # fmt: skip
    batch: list[tuple[Envelope, str, str, str | None, str | None]] = []
    for i, payload in enumerate(new):
        batch.append(
            (envelope(payload, _version(payload)), payload["reference"], ACCEPTED, None, None)
        )
        if i % 4 == 3 and others:
            batch.append(others.pop(0))
        if i % 15 == 14:  # a resend of a submission placed earlier in this poll
            again = new[i - 6]
            batch.append(
                (envelope(again, _version(again)), again["reference"], ACCEPTED, None, None)
            )
    batch += others
    assert len(batch) == 100

    with structlog.testing.capture_logs() as logs:
        await door.poll([b[0] for b in batch])
    assert "batch_failed_splitting" not in [entry["event"] for entry in logs]

    orders = await door.orders()
    assert len(orders) == 5 + 77
    outbox = (await door.outbox())[10:]  # after the earlier poll's 5 + 5
    replies = [(m, e) for topic, m, e in outbox if topic == "orders.inbound.replies"]
    placed = [e for topic, m, e in outbox if m == "OrderPlaced"]
    assert len(placed) == 77
    assert len({e.payload["order_id"] for e in placed}) == 77
    assert [(e.payload["reference"], m) for m, e in replies] == [(b[1], b[2]) for b in batch]
    first_ids: dict[str, str] = {}
    for (message_type, reply), (sent, reference, _, order_id, reason) in zip(
        replies, batch, strict=True
    ):
        assert reply.causation_id == sent.message_id
        assert reply.correlation_id == reference
        if message_type == ACCEPTED:
            expected = order_id or first_ids.setdefault(reference, reply.payload["order_id"])
            assert reply.payload["order_id"] == expected == orders[f"upstream:{reference}"]
        else:
            assert reply.payload["reasons"][0]["field"] == reason
    # Each new order is announced once, caused by the submission that placed it.
    first_sent: dict[str, uuid.UUID] = {}
    for sent, reference, answer, order_id, _ in batch:
        if answer == ACCEPTED and order_id is None:
            first_sent.setdefault(reference, sent.message_id)
    causes = {e.payload["order_id"]: e.causation_id for e in placed}
    assert causes == {first_ids[ref]: message_id for ref, message_id in first_sent.items()}
    mugs = next(e for e in placed if e.payload["order_id"] == first_ids["new-00"])
    assert mugs.payload["total"] == {"amount_minor": 1250, "currency": "EUR"}
    bad = next(e for m, e in replies if e.payload["reference"] == "bad-1")
    assert [r["field"] for r in bad.payload["reasons"]] == ["lines[0].quantity", "payment_token"]
    async with door.engine.connect() as conn:
        processed = await conn.scalar(text("SELECT count(*) FROM inbox WHERE status = 'processed'"))
    assert processed == 105


async def test_a_concurrent_instance_placing_the_same_reference_fails_the_batch(
    door: Door,
) -> None:
    """Two instances during a rebalance: the second looked before the first committed."""
    pool = await hot_pool(door.engine).pool()
    registry = door_registry()

    async def run(conn: Any, reference: str) -> None:
        e = envelope(submission(reference))
        item = Incoming(registry.decode_payload(e), e, SourceCoordinates("orders.inbound", 0, 1))
        batch = Batch(conn, BatchOutbox(producer="checkout"), FixedClock(NOW))
        await handle_door_requests(
            PgSubmissionStore(conn), batch, [item], new_id=uuid.uuid4, event_version=2
        )

    async with pool.acquire() as first, pool.acquire() as second:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        await run(first, "same")
        racing = asyncio.create_task(run(second, "same"))
        await asyncio.sleep(0.3)
        assert not racing.done()  # waits on the first one's order
        await first_tx.commit()
        with pytest.raises(ConcurrentSubmission):
            await racing
        await second_tx.rollback()
    assert list(await door.orders()) == ["upstream:same"]


async def test_a_submission_chooses_its_delivery_or_is_told_why_it_cannot(door: Door) -> None:
    method = DeliveryMethodChanged(
        method_id="home", name="Home", kind="home", carrier="SimPost", currency="EUR",
        zones=[DeliveryZone(zone="all", countries=[ADDRESS["country"]],
                            bands=[WeightBand(max_weight_g=100_000, price_minor=490)])],
        revision=1,
    )  # fmt: skip
    async with door.engine.begin() as conn:
        raw = await conn.get_raw_connection()
        await PgPriceCopy(raw.driver_connection).save(newest_changes([method]))  # type: ignore[arg-type]
    await door.poll(
        [
            envelope(submission("ship-1", delivery={"method": "home"})),
            envelope(submission("ship-2", delivery={"method": "drone"})),
            envelope(submission("ship-3", delivery={"method": "home", "pickup_point": "p"})),
        ]
    )
    outbox = await door.outbox()
    [placed] = [e.payload for _, m, e in outbox if m == "OrderPlaced"]  # v2 here: no itemising
    assert placed["total"] == {"amount_minor": 1990 + 490, "currency": "EUR"}
    async with door.engine.connect() as conn:
        recorded = await conn.scalar(text("SELECT delivery FROM orders"))
    assert (recorded["method_id"], recorded["price_minor"], recorded["zone"]) == (
        "home",
        490,
        "all",
    )
    replies = {e.payload["reference"]: e.payload for _, m, e in outbox if m != "OrderPlaced"}
    assert "order_id" in replies["ship-1"]
    assert replies["ship-2"]["reasons"] == [
        {"field": "delivery.method", "reason": "unknown delivery method 'drone'"}
    ]
    assert replies["ship-3"]["reasons"][0]["field"] == "delivery.pickup_point"
