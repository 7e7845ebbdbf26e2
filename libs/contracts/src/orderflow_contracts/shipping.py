"""shipping.commands, shipping.events and shipping.tracking (key: order id)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from orderflow_contracts.common import (
    Address,
    CarrierName,
    DeliveryId,
    OrderId,
    ReturnId,
    StockLine,
)
from orderflow_messaging.registry import Message

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CreateShipment(Message):
    """Ship ``lines`` to ``address`` (a pickup order's: its pickup point's) with the
    order's delivery ``method_id`` and ``carrier`` (null: the default carrier)."""

    TYPE = "CreateShipment"
    VERSION = 1
    order_id: OrderId
    address: Address
    lines: Annotated[list[StockLine], Field(min_length=1, max_length=100)]
    method_id: DeliveryId | None = None
    carrier: CarrierName | None = None


class CancelShipment(Message):
    TYPE = "CancelShipment"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class ShipmentCreated(Message):
    TYPE = "ShipmentCreated"
    VERSION = 1
    order_id: OrderId
    shipment_id: str
    carrier: str
    tracking_number: str


class ShipmentFailed(Message):
    TYPE = "ShipmentFailed"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class ShipmentCancelled(Message):
    TYPE = "ShipmentCancelled"
    VERSION = 1
    order_id: OrderId


class ShipmentCancellationFailed(Message):
    """The parcel already left: it cannot be cancelled any more."""

    TYPE = "ShipmentCancellationFailed"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class ShipmentDispatched(Message):
    TYPE = "ShipmentDispatched"
    VERSION = 1
    order_id: OrderId
    shipment_id: str


class ShipmentDelivered(Message):
    TYPE = "ShipmentDelivered"
    VERSION = 1
    order_id: OrderId
    shipment_id: str


TrackingStep = Literal[
    "booked",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "delivery_exception",
    "returned_to_sender",
    "cancelled",
]


class TrackingUpdated(Message):
    """A parcel's next step as its carrier reports it (on shipping.tracking; "cancelled":
    the sender cancelled it before dispatch, the last step then): ``sequence``
    counts an order's steps from 1, so a reader can order them and drop a step it has;
    ``eta`` is the estimated delivery as of this step (null once delivered, or when it
    will not be: a delivery exception, returned to the sender); ``detail`` says why for
    an exception."""

    TYPE = "TrackingUpdated"
    VERSION = 1
    order_id: OrderId
    shipment_id: str
    carrier: CarrierName
    tracking_number: str
    sequence: Annotated[int, Field(ge=1)]
    status: TrackingStep
    at: AwareDatetime
    eta: AwareDatetime | None = None
    detail: Reason | None = None


class CreateReturnLabel(Message):
    """A prepaid label for a return parcel, collected at ``address`` (where the order
    went) with ``carrier`` (null: the default carrier)."""

    TYPE = "CreateReturnLabel"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    address: Address
    lines: Annotated[list[StockLine], Field(min_length=1, max_length=100)]
    carrier: CarrierName | None = None


class CancelReturnLabel(Message):
    """Void a return's label (the return was cancelled or its parcel never came); a label
    never issued is answered as cancelled too."""

    TYPE = "CancelReturnLabel"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    reason: Reason


class ReturnLabelCreated(Message):
    TYPE = "ReturnLabelCreated"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    carrier: CarrierName
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReturnLabelRefused(Message):
    """The carrier does not collect there (the reason says why)."""

    TYPE = "ReturnLabelRefused"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    reason: Reason


class ReturnLabelCancelled(Message):
    TYPE = "ReturnLabelCancelled"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId


COMMANDS: tuple[type[Message], ...] = (
    CreateShipment,
    CancelShipment,
    CreateReturnLabel,
    CancelReturnLabel,
)
EVENTS: tuple[type[Message], ...] = (
    ShipmentCreated,
    ShipmentFailed,
    ShipmentCancelled,
    ShipmentCancellationFailed,
    ShipmentDispatched,
    ShipmentDelivered,
    ReturnLabelCreated,
    ReturnLabelRefused,
    ReturnLabelCancelled,
)
TRACKING: tuple[type[Message], ...] = (TrackingUpdated,)
