"""payment.commands and payment.events (key: order id).

Every command carries an idempotency key chosen by the saga; the payment service stores
it before calling the gateway, so a resent command never charges twice. A capture brings
what its invoice shows (``invoice``: the lines, their discounts, the delivery, the country
whose tax applies); the payment service issues the invoice with the capture.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from orderflow_contracts.common import (
    Contract,
    Country,
    Currency,
    CustomerId,
    DeliveryId,
    MinorUnits,
    OrderId,
    Quantity,
    ReturnId,
    Sku,
)
from orderflow_messaging.registry import Message

IdempotencyKey = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Token = Annotated[str, StringConstraints(pattern=r"^tok_[a-z0-9_]{1,60}$")]


class AuthorizePayment(Message):
    TYPE = "AuthorizePayment"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency
    payment_token: Token
    idempotency_key: IdempotencyKey


class InvoiceLine(Contract):
    """A line as charged: ``unit_price_minor`` gross (tax included), less its discount."""

    sku: Sku
    quantity: Quantity
    unit_price_minor: MinorUnits
    discount_minor: MinorUnits = 0


class InvoiceDraft(Contract):
    """What the capture's invoice shows; its lines less their discounts plus the delivery
    make the captured amount (a difference, from an order placed before invoices, shows
    as an adjustment line)."""

    customer_id: CustomerId
    country: Country
    lines: Annotated[list[InvoiceLine], Field(min_length=1, max_length=100)]
    delivery_minor: MinorUnits = 0
    delivery_method: DeliveryId | None = None


class CapturePayment(Message):
    TYPE = "CapturePayment"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency
    idempotency_key: IdempotencyKey
    # Optional: a capture sent before invoices has none, and gets no invoice.
    invoice: InvoiceDraft | None = None


class VoidPayment(Message):
    TYPE = "VoidPayment"
    VERSION = 1
    order_id: OrderId
    idempotency_key: IdempotencyKey


class RefundPayment(Message):
    """Refund ``amount_minor`` of the capture (never more than is left of it). A return's
    refund names the return (echoed in the reply) and the ``lines`` it gives back, which
    its credit note shows; without lines (a cancelled order) the credit note is the whole
    invoice, or one line for a partial amount."""

    TYPE = "RefundPayment"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency
    idempotency_key: IdempotencyKey
    return_id: ReturnId | None = None
    lines: Annotated[list[InvoiceLine], Field(max_length=100)] | None = None


class PaymentAuthorized(Message):
    TYPE = "PaymentAuthorized"
    VERSION = 1
    order_id: OrderId
    authorization_id: str
    amount_minor: MinorUnits
    currency: Currency


class PaymentDeclined(Message):
    TYPE = "PaymentDeclined"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class PaymentCaptured(Message):
    TYPE = "PaymentCaptured"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency


class PaymentCaptureFailed(Message):
    TYPE = "PaymentCaptureFailed"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class PaymentVoided(Message):
    TYPE = "PaymentVoided"
    VERSION = 1
    order_id: OrderId


class PaymentRefunded(Message):
    """``amount_minor``: what the order has been refunded in all, so far; ``return_id``:
    the return whose refund this answers (null: the order's own)."""

    TYPE = "PaymentRefunded"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency
    return_id: ReturnId | None = None


COMMANDS: tuple[type[Message], ...] = (
    AuthorizePayment,
    CapturePayment,
    VoidPayment,
    RefundPayment,
)
EVENTS: tuple[type[Message], ...] = (
    PaymentAuthorized,
    PaymentDeclined,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentVoided,
    PaymentRefunded,
)
