"""CreateShipment and CancelShipment on the real PostgreSQL: one shipment per order, and
every command answered again, identically, when it is resent."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest

from shipping.domain.model import ShipmentStatus

from .conftest import ACCEPTED, NOW, REJECTED, SLOW, Shipping


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
    assert all(isinstance(f, RuntimeError) for f in failures)
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
    shipping.at(6)
    assert await shipping.tick_advance() == 1
    await shipping.cancel("o1")
    assert await shipping.types("o1") == [
        "ShipmentCreated", "ShipmentDispatched", "ShipmentCancellationFailed",
        "ShipmentDelivered", "ShipmentCancellationFailed",
    ]  # fmt: skip
    refusal = (await shipping.replies("o1"))[2][1]
    assert refusal == {"order_id": "o1", "reason": "already dispatched"}
    assert (await shipping.shipment("o1")).status is ShipmentStatus.DELIVERED
