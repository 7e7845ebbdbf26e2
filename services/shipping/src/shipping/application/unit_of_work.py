"""The transaction a use case runs in: repositories, the outbox, the clock and ids."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.outbox import Outbox
from shipping.adapters.repository import ShipmentRepository


@dataclass
class ShippingUnitOfWork:
    conn: AsyncConnection
    outbox: Outbox
    clock: Clock
    new_id: IdFactory = uuid4

    @property
    def shipments(self) -> ShipmentRepository:
        return ShipmentRepository(self.conn)
