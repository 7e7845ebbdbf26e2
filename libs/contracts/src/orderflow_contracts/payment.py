"""payment.commands and payment.events (key: order id).

Every command carries an idempotency key chosen by the saga; the payment service stores
it before calling the gateway, so a resent command never charges twice.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from orderflow_contracts.common import Currency, MinorUnits, OrderId
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


class CapturePayment(Message):
    TYPE = "CapturePayment"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency
    idempotency_key: IdempotencyKey


class VoidPayment(Message):
    TYPE = "VoidPayment"
    VERSION = 1
    order_id: OrderId
    idempotency_key: IdempotencyKey


class RefundPayment(Message):
    TYPE = "RefundPayment"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency
    idempotency_key: IdempotencyKey


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
    TYPE = "PaymentRefunded"
    VERSION = 1
    order_id: OrderId
    amount_minor: MinorUnits
    currency: Currency


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
