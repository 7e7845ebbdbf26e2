"""shipping.commands records through the service's consumer: decoding, routing to the use
cases, the inbox dropping a redelivery, and a resent command answered again."""

from __future__ import annotations

from uuid import uuid4

from orderflow_contracts.shipping import CancelShipment
from orderflow_messaging.settings import ConsumerSettings
from shipping.domain.model import ShipmentStatus
from shipping.entrypoints.messages import build_consumer

from .conftest import SLOW, TIMINGS, Shipping, command_record, create_command


async def test_commands_reach_their_use_cases_once_per_message(shipping: Shipping) -> None:
    consumer = build_consumer(
        shipping.engine, ConsumerSettings(), shipping.clock, shipping.ids, shipping.carrier, TIMINGS
    )
    create_id = uuid4()
    create = command_record(create_command("o1"), "o1", 0, create_id)
    await consumer.process([create])
    await consumer.process([create])  # a redelivery: same message id, dropped by the inbox
    await consumer.process([command_record(create_command("o1"), "o1", 1, uuid4())])  # a resend
    cancel = CancelShipment(order_id="o2", reason="payment declined")
    await consumer.process(
        [
            command_record(create_command("o3", SLOW), "o3", 2, uuid4()),
            command_record(cancel, "o2", 3, uuid4()),
        ]
    )
    assert await shipping.types("o1") == ["ShipmentCreated", "ShipmentCreated"]
    assert await shipping.types("o2") == ["ShipmentCancelled"]
    assert await shipping.types("o3") == []
    assert (await shipping.shipment("o3")).status is ShipmentStatus.REQUESTED
    causation = await shipping.scalar(
        "SELECT value FROM outbox WHERE correlation_id = 'o1' ORDER BY id LIMIT 1"
    )
    assert str(create_id) in causation.decode()
    assert await shipping.scalar("SELECT sum(duplicates) FROM inbox") == 1


async def test_an_orders_create_and_cancel_in_one_poll_are_handled_in_poll_order(
    shipping: Shipping,
) -> None:
    consumer = build_consumer(
        shipping.engine, ConsumerSettings(), shipping.clock, shipping.ids, shipping.carrier, TIMINGS
    )
    cancel = CancelShipment(order_id="o5", reason="payment declined")
    await consumer.process(
        [
            command_record(cancel, "o5", 0, uuid4()),
            command_record(create_command("o5"), "o5", 1, uuid4()),
            command_record(create_command("o6"), "o6", 2, uuid4()),
            command_record(CancelShipment(order_id="o6", reason="x"), "o6", 3, uuid4()),
        ]
    )
    assert await shipping.types("o5") == ["ShipmentCancelled", "ShipmentFailed"]
    assert await shipping.types("o6") == ["ShipmentCreated", "ShipmentCancelled"]
    assert (await shipping.shipment("o5")).address is None  # the tombstone refused the create
    assert (await shipping.shipment("o6")).status is ShipmentStatus.CANCELLED
