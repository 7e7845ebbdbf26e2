"""inventory.commands and inventory.events (key: order id); inventory.stock (key: SKU)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from orderflow_contracts.common import OrderId, Sku, StockLine
from orderflow_messaging.registry import Message

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ReserveStock(Message):
    TYPE = "ReserveStock"
    VERSION = 1
    order_id: OrderId
    lines: Annotated[list[StockLine], Field(min_length=1, max_length=100)]


class ReleaseStock(Message):
    TYPE = "ReleaseStock"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class CommitStock(Message):
    TYPE = "CommitStock"
    VERSION = 1
    order_id: OrderId


class StockReserved(Message):
    TYPE = "StockReserved"
    VERSION = 1
    order_id: OrderId
    lines: list[StockLine]


class StockReservationFailed(Message):
    TYPE = "StockReservationFailed"
    VERSION = 1
    order_id: OrderId
    reason: Reason
    unavailable: list[Sku]


class StockReleased(Message):
    TYPE = "StockReleased"
    VERSION = 1
    order_id: OrderId


class StockCommitted(Message):
    TYPE = "StockCommitted"
    VERSION = 1
    order_id: OrderId


COMMANDS: tuple[type[Message], ...] = (ReserveStock, ReleaseStock, CommitStock)


class StockLevelChanged(Message):
    """A SKU's available quantity after a change, for read models (the catalog's
    availability). ``revision`` counts the SKU's stock changes and only grows: a reader
    keeps the level with the highest revision it has seen, so a redelivery or a replay
    never moves a level back. At most one per SKU per inventory transaction."""

    TYPE = "StockLevelChanged"
    VERSION = 1
    sku: Sku
    available: Annotated[int, Field(ge=0)]
    revision: Annotated[int, Field(ge=1)]


EVENTS: tuple[type[Message], ...] = (
    StockReserved,
    StockReservationFailed,
    StockReleased,
    StockCommitted,
)
# On inventory.stock (compacted): the latest level of each SKU stays readable.
LEVELS: tuple[type[Message], ...] = (StockLevelChanged,)
