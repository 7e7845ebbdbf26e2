"""What to do with each command, given the payment as it is. Pure.

Business refusals are answers (``PaymentDeclined``, ``PaymentCaptureFailed``), never
exceptions. Every command is answered again when resent, from the stored state.
"""

from __future__ import annotations

from dataclasses import replace

from payment.domain.model import (
    Answer,
    Call,
    Decision,
    GatewayResult,
    GatewayStatus,
    Payment,
    PaymentError,
    PaymentStatus,
    Reply,
)


def _answer(reply: Reply, reason: str | None = None, amount_minor: int = 0) -> Decision:
    return Decision(answer=Answer(reply, reason, amount_minor))


def decide_authorize(
    payment: Payment | None, order_id: str, amount_minor: int, currency: str, token: str
) -> Decision:
    if payment is None:
        start = Payment.pending(order_id, amount_minor, currency, token)
        return Decision(payment=start, call=Call.AUTHORIZE, call_amount_minor=amount_minor)
    match payment.status:
        case PaymentStatus.AUTHORIZATION_PENDING:
            # Ask the gateway again about the open authorization (never a new one).
            return Decision(
                payment=payment, call=Call.AUTHORIZE, call_amount_minor=payment.amount_minor
            )
        case PaymentStatus.AUTHORIZED | PaymentStatus.CAPTURED | PaymentStatus.REFUNDED:
            return _answer(Reply.AUTHORIZED)
        case PaymentStatus.DECLINED:
            return _answer(Reply.DECLINED, payment.reason or "declined")
        case PaymentStatus.VOIDED:
            return _answer(Reply.DECLINED, "voided")


def decide_capture(payment: Payment | None, amount_minor: int, currency: str) -> Decision:
    """Only an authorized payment, only for the authorized amount, and only once ever."""
    if payment is None:
        return _answer(Reply.CAPTURE_FAILED, "payment_not_found")
    match payment.status:
        case PaymentStatus.AUTHORIZED:
            if (amount_minor, currency) != (payment.amount_minor, payment.currency):
                return _answer(Reply.CAPTURE_FAILED, "amount_mismatch")
            return Decision(payment=payment, call=Call.CAPTURE, call_amount_minor=amount_minor)
        case PaymentStatus.CAPTURED:
            return _answer(Reply.CAPTURED, amount_minor=payment.captured_minor)
        case PaymentStatus.AUTHORIZATION_PENDING:
            return _answer(Reply.CAPTURE_FAILED, "authorization_pending")
        case PaymentStatus.DECLINED | PaymentStatus.VOIDED | PaymentStatus.REFUNDED:
            return _answer(Reply.CAPTURE_FAILED, f"payment_{payment.status.value}")


def decide_void(
    payment: Payment | None, order_id: str, *, authorization_in_flight: bool = False
) -> Decision:
    """Release the hold; once captured, the money goes back instead (a refund).

    ``authorization_in_flight``: an authorization was sent but its outcome never stored
    (a crash or a transient fault). The gateway may hold money for it, so void there too.
    """
    if payment is None:
        tombstone = Payment.tombstone(order_id)
        if authorization_in_flight:
            return Decision(payment=tombstone, call=Call.VOID)
        return Decision(payment=tombstone, answer=Answer(Reply.VOIDED))
    match payment.status:
        case PaymentStatus.AUTHORIZATION_PENDING | PaymentStatus.AUTHORIZED:
            return Decision(payment=payment, call=Call.VOID)
        case PaymentStatus.VOIDED | PaymentStatus.DECLINED:
            return _answer(Reply.VOIDED)
        case PaymentStatus.CAPTURED:
            return Decision(
                payment=payment, call=Call.REFUND, call_amount_minor=payment.refundable_minor
            )
        case PaymentStatus.REFUNDED:
            return _answer(Reply.REFUNDED, amount_minor=payment.refunded_minor)


def decide_refund(
    payment: Payment | None,
    order_id: str,
    amount_minor: int,
    currency: str,
    *,
    authorization_in_flight: bool = False,
) -> Decision:
    """Refund what was captured; a payment never captured is voided instead.

    A payment may be refunded in parts (a return's lines, one refund each, under its own
    key); a refund never exceeds what is left of the capture: a larger request refunds
    the rest, and one with nothing left is answered with the total refunded so far.
    """
    if payment is None or payment.status not in (
        PaymentStatus.CAPTURED,
        PaymentStatus.REFUNDED,
    ):
        return decide_void(payment, order_id, authorization_in_flight=authorization_in_flight)
    if currency != payment.currency:
        raise PaymentError(f"refund in {currency} of a payment in {payment.currency}")
    refund = min(amount_minor, payment.refundable_minor)
    if refund == 0:
        return _answer(Reply.REFUNDED, amount_minor=payment.refunded_minor)
    return Decision(payment=payment, call=Call.REFUND, call_amount_minor=refund)


def apply_result(
    payment: Payment, call: Call, amount_minor: int, result: GatewayResult
) -> Decision:
    """The gateway answered ``call`` (started from ``payment``): new state and reply."""
    if call is Call.AUTHORIZE:
        return _authorized(payment, result)
    if result.status is not GatewayStatus.APPROVED:
        if call is Call.CAPTURE and result.status is GatewayStatus.DECLINED:
            return _answer(Reply.CAPTURE_FAILED, result.reason or "capture_declined")
        raise PaymentError(f"gateway answered {result.status.value} to {call.value}")
    match call:
        case Call.CAPTURE:
            captured = replace(payment, status=PaymentStatus.CAPTURED, captured_minor=amount_minor)
            return Decision(captured, Answer(Reply.CAPTURED, amount_minor=amount_minor))
        case Call.VOID:
            return Decision(replace(payment, status=PaymentStatus.VOIDED), Answer(Reply.VOIDED))
        case Call.REFUND:
            total = payment.refunded_minor + amount_minor
            refunded = replace(payment, status=PaymentStatus.REFUNDED, refunded_minor=total)
            return Decision(refunded, Answer(Reply.REFUNDED, amount_minor=total))
    raise AssertionError(f"unhandled gateway call {call}")


def _authorized(payment: Payment, result: GatewayResult) -> Decision:
    match result.status:
        case GatewayStatus.APPROVED:
            done = replace(
                payment,
                status=PaymentStatus.AUTHORIZED,
                authorization_id=result.authorization_id,
                reason=None,
            )
            return Decision(done, Answer(Reply.AUTHORIZED))
        case GatewayStatus.DECLINED:
            reason = result.reason or "declined"
            declined = replace(payment, status=PaymentStatus.DECLINED, reason=reason)
            return Decision(declined, Answer(Reply.DECLINED, reason))
        case GatewayStatus.PENDING:
            return Decision(payment=payment)
