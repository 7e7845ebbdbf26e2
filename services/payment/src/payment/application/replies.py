"""Domain answers -> payment.events messages, and stored replies -> messages again."""

from __future__ import annotations

from typing import Any

from orderflow_contracts.payment import (
    EVENTS,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
)
from orderflow_messaging.registry import Message
from payment.domain.model import Answer, Payment, Reply

_EVENTS: dict[str, type[Message]] = {model.TYPE: model for model in EVENTS}

# Log event per reply (by message type): static names, so that logs can be searched for them.
LOG_EVENTS = {
    PaymentAuthorized.TYPE: "payment_authorized",
    PaymentDeclined.TYPE: "payment_declined",
    PaymentCaptured.TYPE: "payment_captured",
    PaymentCaptureFailed.TYPE: "payment_capture_failed",
    PaymentVoided.TYPE: "payment_voided",
    PaymentRefunded.TYPE: "payment_refunded",
}


def _currency(payment: Payment | None) -> str:
    # Only money-moving replies need one, and only a tombstone lacks it: a tombstone is
    # only ever answered "voided" or "declined".
    assert payment is not None
    assert payment.currency is not None, "a money-moving reply needs a currency"
    return payment.currency


def reply_message(
    order_id: str, payment: Payment | None, answer: Answer, return_id: str | None = None
) -> Message:
    """``payment`` is the state after the decision (it carries amounts and ids);
    ``return_id``: the return a refund was asked for (echoed in PaymentRefunded)."""
    match answer.reply:
        case Reply.AUTHORIZED:
            assert payment is not None
            assert payment.authorization_id is not None
            return PaymentAuthorized(
                order_id=order_id,
                authorization_id=payment.authorization_id,
                amount_minor=payment.amount_minor,
                currency=_currency(payment),
            )
        case Reply.DECLINED:
            return PaymentDeclined(order_id=order_id, reason=answer.reason or "declined")
        case Reply.CAPTURED:
            return PaymentCaptured(
                order_id=order_id, amount_minor=answer.amount_minor, currency=_currency(payment)
            )
        case Reply.CAPTURE_FAILED:
            return PaymentCaptureFailed(order_id=order_id, reason=answer.reason or "failed")
        case Reply.VOIDED:
            return PaymentVoided(order_id=order_id)
        case Reply.REFUNDED:
            return PaymentRefunded(
                order_id=order_id, amount_minor=answer.amount_minor,
                currency=_currency(payment), return_id=return_id,
            )  # fmt: skip


def stored_message(reply_type: str, payload: dict[str, Any]) -> Message:
    return _EVENTS[reply_type].model_validate(payload)
