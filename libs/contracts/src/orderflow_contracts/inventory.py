"""inventory.commands and inventory.events (key: order id); inventory.stock (key: SKU)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from orderflow_contracts.common import Contract, OrderId, Quantity, ReturnId, Sku, StockLine
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


class ReturnedLine(Contract):
    """Returned units of a SKU (a bundle's: its components) and what becomes of them:
    ``restock`` (sellable: back on the shelf) or ``write_off`` (damaged: out of stock)."""

    sku: Sku
    quantity: Quantity
    disposition: Literal["restock", "write_off"]


class RestockReturn(Message):
    """A return's received goods, of an order whose stock was committed."""

    TYPE = "RestockReturn"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    lines: Annotated[list[ReturnedLine], Field(min_length=1, max_length=100)]


class ReturnRestocked(Message):
    """Done once per return (a resend is answered again, with the same lines)."""

    TYPE = "ReturnRestocked"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    lines: list[ReturnedLine]


COMMANDS: tuple[type[Message], ...] = (ReserveStock, ReleaseStock, CommitStock, RestockReturn)


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
    ReturnRestocked,
)
# On inventory.stock (compacted): the latest level of each SKU stays readable.
LEVELS: tuple[type[Message], ...] = (StockLevelChanged,)
