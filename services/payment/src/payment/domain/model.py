"""Payments and the answers the service gives about them.

One payment per order. Its life::

    (none) --authorize--> authorization_pending --> authorized | declined
    authorized --capture--> captured --refund--> refunded (--refund--> refunded, in
    parts, until nothing of the capture is left)
    authorization_pending | authorized --void--> voided
    (none) --void--> voided (a tombstone: a late authorization is refused)

Money only moves through the gateway; the decisions in ``decisions.py`` say which call
to make, and ``apply_result`` turns the gateway's answer into the new state and reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentStatus(StrEnum):
    AUTHORIZATION_PENDING = "authorization_pending"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"


class Call(StrEnum):
    """A gateway operation (also the ``kind`` of a ledger row)."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class Reply(StrEnum):
    """What the service answers; one per payment event of the contract."""

    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    CAPTURE_FAILED = "capture_failed"
    VOIDED = "voided"
    REFUNDED = "refunded"


class GatewayStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    # Accepted but not decided yet (slow issuer, or no answer at all): ask again later.
    PENDING = "pending"


class PaymentError(Exception):
    """The gateway and our state disagree in a way no retry can fix; needs a human."""


@dataclass(frozen=True)
class GatewayResult:
    status: GatewayStatus
    authorization_id: str | None = None
    reason: str | None = None

    @classmethod
    def approved(cls, authorization_id: str | None = None) -> GatewayResult:
        return cls(GatewayStatus.APPROVED, authorization_id)

    @classmethod
    def declined(cls, reason: str) -> GatewayResult:
        return cls(GatewayStatus.DECLINED, reason=reason)

    @classmethod
    def pending(cls) -> GatewayResult:
        return cls(GatewayStatus.PENDING)


@dataclass(frozen=True)
class Payment:
    """Only the token is kept, never card data."""

    order_id: str
    status: PaymentStatus
    amount_minor: int
    # None only for a tombstone: a void that arrived before any authorization.
    currency: str | None
    token: str | None
    authorization_id: str | None = None
    captured_minor: int = 0
    refunded_minor: int = 0
    reason: str | None = None

    @classmethod
    def pending(cls, order_id: str, amount_minor: int, currency: str, token: str) -> Payment:
        return cls(order_id, PaymentStatus.AUTHORIZATION_PENDING, amount_minor, currency, token)

    @classmethod
    def tombstone(cls, order_id: str) -> Payment:
        return cls(order_id, PaymentStatus.VOIDED, 0, None, None, reason="voided")

    @property
    def refundable_minor(self) -> int:
        return self.captured_minor - self.refunded_minor


@dataclass(frozen=True)
class Answer:
    reply: Reply
    reason: str | None = None
    # Captured: the captured amount. Refunded: the total refunded so far for the order.
    amount_minor: int = 0


@dataclass(frozen=True)
class Decision:
    """Either a gateway call to make first (``call``), or the outcome.

    ``payment`` is the state to store (for a call: the state the call starts from);
    ``answer`` None means no reply yet: the authorization is still open.
    """

    payment: Payment | None = None
    answer: Answer | None = None
    call: Call | None = None
    call_amount_minor: int = 0
