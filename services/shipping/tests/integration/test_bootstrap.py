"""The composition root: what the runtime is handed, and its timers doing their rounds.

Driven without the runtime on purpose: a real process would join the shared "shipping"
consumer group and take commands meant for the running stack.
"""

from __future__ import annotations

from uuid import uuid4

from fastapi.routing import APIRoute

from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_messaging.db import dispose
from orderflow_testing.plugin import MigratedSchema
from shipping.bootstrap import MIGRATIONS, build
from shipping.config import ShippingSettings

from .conftest import NOW, SLOW, Shipping, command_record, create_command


async def test_build_wires_consumer_timers_and_routes(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    settings = ShippingSettings(
        database_url=db.url, db_schema=db.schema, slow_delay_s=1, dispatch_after_s=1,
        deliver_after_s=1, advance_interval_s=0.2,
        tick_limit=1,  # a tick that moves one shipment is full: "run again at once"
    )  # fmt: skip
    service = build(settings, clock, SequentialIds())
    shipping = Shipping(db.engine, clock)
    try:
        assert service.name == "shipping"
        [subscription] = service.subscriptions
        assert subscription.topics == ("shipping.commands",)
        assert subscription.group_id == "shipping"
        assert list(service.produces) == ["shipping.events", "shipping.tracking"]
        paths = [
            route.path
            for router in service.routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]
        assert paths == ["/shipments", "/shipments/{order_id}", "/orders/{order_id}/tracking"]
        timers = {task.name: task for task in service.tasks}
        assert sorted(timers) == ["shipment-advance", "slow-carrier"]
        assert all(task.interval_s == 0.2 for task in service.tasks)
        record = command_record(create_command("o1", SLOW), "o1", 0, uuid4())
        await subscription.consumer.process([record])
        assert await timers["slow-carrier"].tick() is False
        clock.now = NOW.replace(second=1)
        assert await timers["slow-carrier"].tick() is True
        assert await timers["slow-carrier"].tick() is False
        clock.now = NOW.replace(second=2)
        assert await timers["shipment-advance"].tick() is True
        clock.now = NOW.replace(second=3)
        assert await timers["shipment-advance"].tick() is True  # out for delivery
        clock.now = NOW.replace(second=4)
        assert await timers["shipment-advance"].tick() is True
        assert await timers["shipment-advance"].tick() is False
        assert await shipping.types("o1") == [
            "ShipmentCreated", "ShipmentDispatched", "ShipmentDelivered",
        ]  # fmt: skip
    finally:
        await dispose(service.engine)
