"""The upstream door: ``orders.inbound`` (key: the upstream's order reference) and the
answers on ``orders.inbound.replies`` (same key).

An upstream system sends SubmitOrder in the orderflow envelope with ``correlation_id`` =
its own order reference. Checkout answers every parseable submission with
OrderSubmissionAccepted (and the order id) or OrderSubmissionRejected (every reason).
Bytes that cannot be parsed, and unknown types or versions, go to orders.inbound.dlq.
Resubmitting a reference is idempotent: the same submission gets the same answer.

CancelOrder asks to cancel the order submitted under a reference: the answer is
OrderCancellationAccepted (the order is being cancelled: its compensations run, and it
ends CANCELLED on orders.events) or OrderCancellationRefused (every reason: a contract
violation, an unknown reference, too late). Checkout answers what it can tell alone
(the first two), the coordinator the rest; a resent CancelOrder gets the same answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from orderflow_contracts.checkout import SalesChannel, Token
from orderflow_contracts.common import (
    Address,
    Contract,
    Currency,
    CustomerId,
    DeliveryChoice,
    MinorUnits,
    Money,
    Quantity,
    Sku,
    UpstreamReference,
)
from orderflow_messaging.registry import Message

Reference = UpstreamReference


class SubmittedLineV1(Contract):
    sku: Sku
    quantity: Quantity
    # The price the upstream showed its customer; refused when it differs from ours.
    expected_unit_price_minor: MinorUnits | None = None


class SubmittedLine(Contract):
    sku: Sku
    quantity: Quantity
    expected_unit_price: Money | None = None


class SubmitOrderV1(Message):
    TYPE = "SubmitOrder"
    VERSION = 1
    reference: Reference
    customer_id: CustomerId
    lines: Annotated[list[SubmittedLineV1], Field(min_length=1, max_length=100)]
    currency: Currency
    shipping_address: Address
    payment_token: Token


class SubmitOrder(Message):
    TYPE = "SubmitOrder"
    VERSION = 2
    reference: Reference
    customer_id: CustomerId
    lines: Annotated[list[SubmittedLine], Field(min_length=1, max_length=100)]
    currency: Currency
    shipping_address: Address
    payment_token: Token
    sales_channel: SalesChannel | None = None
    # Coupon codes the customer gave (any case); each must apply, else the submission is
    # rejected naming coupons[i] and why. Optional: older submissions have none.
    coupons: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=32)]],
        Field(max_length=5),
    ] = []
    # The delivery method chosen (and its pickup point); priced as checkout prices it and
    # added to the total. Optional: without one, no delivery is charged.
    delivery: DeliveryChoice | None = None


def upcast_submit_order_v1(payload: dict[str, Any]) -> dict[str, Any]:
    currency = payload.get("currency")
    lines = []
    for line in payload.get("lines", []):
        price = line.get("expected_unit_price_minor")
        lines.append(
            {
                "sku": line.get("sku"),
                "quantity": line.get("quantity"),
                "expected_unit_price": (
                    None if price is None else {"amount_minor": price, "currency": currency}
                ),
            }
        )
    return {**{k: v for k, v in payload.items() if k != "lines"}, "lines": lines}


class Reason(Contract):
    field: str
    reason: str


class OrderSubmissionAccepted(Message):
    TYPE = "OrderSubmissionAccepted"
    VERSION = 1
    reference: Reference
    order_id: str


class OrderSubmissionRejected(Message):
    TYPE = "OrderSubmissionRejected"
    VERSION = 1
    reference: Reference
    reasons: list[Reason]


class CancelOrder(Message):
    """Cancel the order submitted as ``reference`` (before it is dispatched)."""

    TYPE = "CancelOrder"
    VERSION = 1
    reference: Reference
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)] = (
        "cancelled by the upstream system"
    )


class OrderCancellationAccepted(Message):
    """The order is being cancelled: its compensations (release stock, void or refund,
    cancel the shipment) run now, and OrderCancelled follows on orders.events."""

    TYPE = "OrderCancellationAccepted"
    VERSION = 1
    reference: Reference
    order_id: str


class OrderCancellationRefused(Message):
    """Nothing was cancelled: ``order_id`` is null when no order is known under the
    reference; ``reasons`` name the field (``order`` for the order's state, e.g. already
    dispatched) and why."""

    TYPE = "OrderCancellationRefused"
    VERSION = 1
    reference: Reference
    order_id: str | None = None
    reasons: list[Reason]


MESSAGES: tuple[type[Message], ...] = (
    SubmitOrderV1,
    SubmitOrder,
    OrderSubmissionAccepted,
    OrderSubmissionRejected,
    CancelOrder,
    OrderCancellationAccepted,
    OrderCancellationRefused,
)
REQUESTS: tuple[type[Message], ...] = (SubmitOrderV1, SubmitOrder, CancelOrder)
REPLIES: tuple[type[Message], ...] = (
    OrderSubmissionAccepted, OrderSubmissionRejected, OrderCancellationAccepted,
    OrderCancellationRefused,
)  # fmt: skip
UPCASTERS = {("SubmitOrder", 1): upcast_submit_order_v1}
