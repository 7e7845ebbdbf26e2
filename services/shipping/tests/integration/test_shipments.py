"""CreateShipment and CancelShipment on the real PostgreSQL: one shipment per order, and
every command answered again, identically, when it is resent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

import pytest

from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.db import hot_pool
from orderflow_messaging.outbox import BatchOutbox
from orderflow_testing.batches import incoming, run_batch
from shipping.adapters.batch_store import ConcurrentShipment, PgShipmentStore
from shipping.application.batch import Command, handle_commands
from shipping.domain.model import ShipmentStatus

from .conftest import (
    ACCEPTED,
    NOW,
    REJECTED,
    SLOW,
    CountingConnection,
    Shipping,
    cancel_command,
    create_command,
)


async def test_accepted_address_is_created_at_once(shipping: Shipping) -> None:
    await shipping.create("o1", ACCEPTED)
    assert await shipping.replies("o1") == [
        (
            "ShipmentCreated",
            {
                "order_id": "o1",
                "shipment_id": str(UUID(int=1)),
                "carrier": "SimPost",
                "tracking_number": "SP000000000001",
            },
        )
    ]
    shipment = await shipping.shipment("o1")
    assert shipment.status is ShipmentStatus.CREATED
    assert shipment.created_at == NOW
    assert [(line.sku, line.quantity) for line in shipment.lines] == [("A", 2), ("B", 1)]
    assert shipment.address is not None
    assert shipment.address.postcode == ACCEPTED


async def test_rejected_address_fails(shipping: Shipping) -> None:
    await shipping.create("o1", REJECTED)
    assert await shipping.replies("o1") == [
        ("ShipmentFailed", {"order_id": "o1", "reason": "carrier rejected the address"})
    ]
    assert (await shipping.shipment("o1")).status is ShipmentStatus.FAILED


async def test_slow_carrier_records_request_and_sends_nothing_yet(shipping: Shipping) -> None:
    await shipping.create("o1", SLOW)
    assert await shipping.replies("o1") == []
    shipment = await shipping.shipment("o1")
    assert shipment.status is ShipmentStatus.REQUESTED
    assert shipment.booking is None
    assert shipment.ready_at is not None
    assert (shipment.ready_at - NOW).total_seconds() == 10


@pytest.mark.parametrize(
    ("postcode", "reply"),
    [(ACCEPTED, "ShipmentCreated"), (REJECTED, "ShipmentFailed")],
)
async def test_resent_create_gives_the_same_reply_and_one_shipment(
    shipping: Shipping, postcode: str, reply: str
) -> None:
    for _ in range(3):
        await shipping.create("o1", postcode)
    replies = await shipping.replies("o1")
    assert [kind for kind, _ in replies] == [reply] * 3
    assert replies[0][1] == replies[1][1] == replies[2][1]
    assert await shipping.scalar("SELECT count(*) FROM shipments") == 1


async def test_resent_create_of_a_slow_shipment_still_sends_nothing(shipping: Shipping) -> None:
    await shipping.create("o1", SLOW)
    shipping.at(5)
    await shipping.create("o1", SLOW)
    assert await shipping.replies("o1") == []
    assert (await shipping.shipment("o1")).status is ShipmentStatus.REQUESTED
    assert await shipping.scalar("SELECT count(*) FROM shipments") == 1


async def test_resent_create_answers_by_the_current_state(shipping: Shipping) -> None:
    await shipping.create("o1")
    shipping.at(3)
    assert await shipping.tick_advance() == 1
    await shipping.create("o1")
    shipping.at(6)
    assert await shipping.tick_advance() == 1
    await shipping.create("o1")
    created = [
        payload for kind, payload in await shipping.replies("o1") if kind == "ShipmentCreated"
    ]
    # Created, then resent while dispatched and while delivered: always the same booking.
    assert len(created) == 3
    assert created[0] == created[1] == created[2]


async def test_concurrent_creates_make_one_shipment(shipping: Shipping) -> None:
    outcomes = await asyncio.gather(
        *(shipping.create("o1") for _ in range(5)), return_exceptions=True
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(f, ConcurrentShipment) for f in failures), failures
    for _ in failures:  # what the consumer does: retry, and answer from the winner's row
        await shipping.create("o1")
    replies = await shipping.replies("o1")
    assert [kind for kind, _ in replies] == ["ShipmentCreated"] * 5
    assert len({payload["shipment_id"] for _, payload in replies}) == 1
    assert await shipping.scalar("SELECT count(*) FROM shipments") == 1


async def test_cancel_before_create_leaves_a_tombstone(shipping: Shipping) -> None:
    await shipping.cancel("o9", "payment declined")
    await shipping.create("o9")
    await shipping.cancel("o9")
    assert await shipping.replies("o9") == [
        ("ShipmentCancelled", {"order_id": "o9"}),
        ("ShipmentFailed", {"order_id": "o9", "reason": "cancelled"}),
        ("ShipmentCancelled", {"order_id": "o9"}),
    ]
    tombstone = await shipping.shipment("o9")
    assert tombstone.status is ShipmentStatus.CANCELLED
    assert tombstone.booking is None
    assert tombstone.address is None


async def test_cancel_created_shipment_stops_it(shipping: Shipping) -> None:
    await shipping.create("o1")
    await shipping.cancel("o1")
    await shipping.create("o1")
    shipping.at(100)
    assert await shipping.tick_advance() == 0
    assert await shipping.types("o1") == ["ShipmentCreated", "ShipmentCancelled", "ShipmentFailed"]
    assert (await shipping.replies("o1"))[2][1]["reason"] == "cancelled"
    assert (await shipping.shipment("o1")).status is ShipmentStatus.CANCELLED


async def test_cancel_of_a_failed_shipment_is_acknowledged(shipping: Shipping) -> None:
    await shipping.create("o1", REJECTED)
    await shipping.cancel("o1")
    await shipping.create("o1", REJECTED)
    assert await shipping.types("o1") == ["ShipmentFailed", "ShipmentCancelled", "ShipmentFailed"]
    assert (await shipping.replies("o1"))[2][1]["reason"] == "carrier rejected the address"
    assert (await shipping.shipment("o1")).status is ShipmentStatus.FAILED


async def test_cancel_after_dispatch_fails(shipping: Shipping) -> None:
    await shipping.create("o1")
    shipping.at(3)
    assert await shipping.tick_advance() == 1
    await shipping.cancel("o1")
    assert (await shipping.shipment("o1")).status is ShipmentStatus.DISPATCHED
    shipping.at(4.5)
    assert await shipping.tick_advance() == 1  # out for delivery
    await shipping.cancel("o1")
    shipping.at(6)
    assert await shipping.tick_advance() == 1
    await shipping.cancel("o1")
    assert await shipping.types("o1") == [
        "ShipmentCreated", "ShipmentDispatched", "ShipmentCancellationFailed",
        "ShipmentCancellationFailed", "ShipmentDelivered", "ShipmentCancellationFailed",
    ]  # fmt: skip
    refusal = (await shipping.replies("o1"))[2][1]
    assert refusal == {"order_id": "o1", "reason": "already dispatched"}
    assert (await shipping.shipment("o1")).status is ShipmentStatus.DELIVERED


async def test_a_create_racing_an_uncommitted_one_fails_its_batch(shipping: Shipping) -> None:
    pool = await hot_pool(shipping.engine).pool()
    async with pool.acquire() as conn:
        async with conn.transaction():
            outbox = BatchOutbox(producer="shipping", clock=shipping.clock)
            batch = Batch(conn, outbox, shipping.clock)
            store = PgShipmentStore(conn)
            await handle_commands(store, batch, [incoming(create_command("o1"))], shipping.shipper)
            await outbox.flush(conn)
            racing = asyncio.create_task(shipping.create("o1"))
            await asyncio.sleep(0.3)
            assert not racing.done()  # its insert waits for this transaction
        with pytest.raises(ConcurrentShipment):
            await racing
    await shipping.create("o1")  # the consumer's retry answers from the winner's row
    replies = await shipping.replies("o1")
    assert [kind for kind, _ in replies] == ["ShipmentCreated", "ShipmentCreated"]
    assert replies[0][1] == replies[1][1]
    assert await shipping.scalar("SELECT count(*) FROM shipments") == 1


async def test_one_batch_folds_each_orders_commands_in_message_order(shipping: Shipping) -> None:
    await shipping.create("old")
    await shipping.batch(
        cancel_command("o9", "payment declined"),  # before its create: a tombstone
        create_command("o9"),
        create_command("o1"),
        create_command("o1"),  # a resend in the same batch
        cancel_command("o1"),
        create_command("o1"),
        create_command("o2", SLOW),
        cancel_command("o2"),
        cancel_command("old"),
        create_command("o3", REJECTED),
    )
    assert await shipping.types("o9") == ["ShipmentCancelled", "ShipmentFailed"]
    assert await shipping.types("o1") == [
        "ShipmentCreated", "ShipmentCreated", "ShipmentCancelled", "ShipmentFailed",
    ]  # fmt: skip
    assert await shipping.types("o2") == ["ShipmentCancelled"]
    assert await shipping.types("old") == ["ShipmentCreated", "ShipmentCancelled"]
    assert await shipping.types("o3") == ["ShipmentFailed"]
    statuses = {
        order_id: (await shipping.shipment(order_id)).status
        for order_id in ("o9", "o1", "o2", "old", "o3")
    }
    assert statuses == {
        "o9": ShipmentStatus.CANCELLED, "o1": ShipmentStatus.CANCELLED,
        "o2": ShipmentStatus.CANCELLED, "old": ShipmentStatus.CANCELLED,
        "o3": ShipmentStatus.FAILED,
    }  # fmt: skip
    assert (await shipping.shipment("o9")).address is None
    assert (await shipping.shipment("o1")).booking is not None  # booked, then cancelled
    assert await shipping.scalar("SELECT count(*) FROM shipments") == 5


async def test_a_batch_loads_inserts_and_updates_with_one_statement_each(
    shipping: Shipping,
) -> None:
    existing = [f"e{i}" for i in range(10)]
    await shipping.batch(*(create_command(o) for o in existing))
    commands: list[Command] = [cancel_command(o) for o in existing]
    commands += [create_command(f"n{i}", (ACCEPTED, SLOW, REJECTED)[i % 3]) for i in range(20)]
    commands += [create_command(o) for o in existing]  # resends: answered, not written
    counted: list[CountingConnection] = []

    async def handler(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
        conn = CountingConnection(batch.conn)
        counted.append(conn)
        await handle_commands(PgShipmentStore(conn), batch, items, shipping.shipper)  # type: ignore[arg-type]

    await run_batch(shipping.engine, handler, commands, clock=shipping.clock)
    assert [c.statements for c in counted] == [["SELECT", "INSERT", "UPDATE"]]
    assert await shipping.scalar("SELECT count(*) FROM shipments") == 30
    assert await shipping.scalar("SELECT count(*) FROM shipments WHERE status = 'cancelled'") == 10
    assert await shipping.types("e0") == ["ShipmentCreated", "ShipmentCancelled", "ShipmentFailed"]
