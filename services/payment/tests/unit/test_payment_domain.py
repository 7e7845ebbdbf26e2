"""The payment state machine: which gateway call, which state, which reply."""

from __future__ import annotations

from dataclasses import replace

import pytest

from payment.domain.decisions import (
    apply_result,
    decide_authorize,
    decide_capture,
    decide_refund,
    decide_void,
)
from payment.domain.model import (
    Answer,
    Call,
    GatewayResult,
    Payment,
    PaymentError,
    PaymentStatus,
    Reply,
)

APPROVED = GatewayResult.approved("auth_1")


def payment(status: PaymentStatus, **changes: object) -> Payment:
    base = Payment("o1", status, 1000, "EUR", "tok_ok", authorization_id="auth_1")
    return replace(base, **changes)  # type: ignore[arg-type]


def captured(status: PaymentStatus = PaymentStatus.CAPTURED, refunded_minor: int = 0) -> Payment:
    return payment(status, captured_minor=1000, refunded_minor=refunded_minor)


def test_first_authorization_calls_the_gateway_from_a_pending_payment() -> None:
    decision = decide_authorize(None, "o1", 1000, "EUR", "tok_ok")
    assert decision.call is Call.AUTHORIZE
    assert decision.call_amount_minor == 1000
    assert decision.answer is None
    assert decision.payment == Payment.pending("o1", 1000, "EUR", "tok_ok")


def test_approved_authorization_becomes_authorized_and_says_so() -> None:
    start = Payment.pending("o1", 1000, "EUR", "tok_ok")
    decision = apply_result(start, Call.AUTHORIZE, 1000, APPROVED)
    assert decision.payment is not None
    assert decision.payment.status is PaymentStatus.AUTHORIZED
    assert decision.payment.authorization_id == "auth_1"
    assert decision.answer == Answer(Reply.AUTHORIZED)


def test_declined_authorization_keeps_the_reason() -> None:
    start = Payment.pending("o1", 1000, "EUR", "tok_decline")
    decision = apply_result(start, Call.AUTHORIZE, 1000, GatewayResult.declined("card_declined"))
    assert decision.payment is not None
    assert decision.payment.status is PaymentStatus.DECLINED
    assert decision.answer == Answer(Reply.DECLINED, "card_declined")


def test_unanswered_authorization_stays_pending_without_a_reply() -> None:
    start = Payment.pending("o1", 1000, "EUR", "tok_slow")
    decision = apply_result(start, Call.AUTHORIZE, 1000, GatewayResult.pending())
    assert decision.payment == start
    assert decision.answer is None


def test_pending_authorization_is_asked_about_again_never_started_anew() -> None:
    pending = Payment.pending("o1", 1000, "EUR", "tok_slow")
    decision = decide_authorize(pending, "o1", 1000, "EUR", "tok_slow")
    assert decision.call is Call.AUTHORIZE
    assert decision.payment == pending


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (PaymentStatus.AUTHORIZED, Answer(Reply.AUTHORIZED)),
        (PaymentStatus.CAPTURED, Answer(Reply.AUTHORIZED)),
        (PaymentStatus.DECLINED, Answer(Reply.DECLINED, "insufficient_funds")),
        (PaymentStatus.VOIDED, Answer(Reply.DECLINED, "voided")),
    ],
)
def test_authorization_of_a_known_payment_answers_from_its_state(
    status: PaymentStatus, answer: Answer
) -> None:
    known = payment(status, reason="insufficient_funds")
    decision = decide_authorize(known, "o1", 1000, "EUR", "tok_ok")
    assert decision.call is None
    assert decision.answer == answer


def test_authorization_after_a_void_is_declined() -> None:
    decision = decide_authorize(Payment.tombstone("o1"), "o1", 1000, "EUR", "tok_ok")
    assert decision.answer == Answer(Reply.DECLINED, "voided")


def test_capture_of_the_authorized_amount_calls_the_gateway() -> None:
    decision = decide_capture(payment(PaymentStatus.AUTHORIZED), 1000, "EUR")
    assert decision.call is Call.CAPTURE
    assert decision.call_amount_minor == 1000
    after = apply_result(payment(PaymentStatus.AUTHORIZED), Call.CAPTURE, 1000, APPROVED)
    assert after.payment is not None
    assert after.payment.status is PaymentStatus.CAPTURED
    assert after.payment.captured_minor == 1000
    assert after.answer == Answer(Reply.CAPTURED, amount_minor=1000)


@pytest.mark.parametrize(("amount", "currency"), [(999, "EUR"), (1001, "EUR"), (1000, "USD")])
def test_capture_of_another_amount_fails_without_a_call(amount: int, currency: str) -> None:
    decision = decide_capture(payment(PaymentStatus.AUTHORIZED), amount, currency)
    assert decision.call is None
    assert decision.answer == Answer(Reply.CAPTURE_FAILED, "amount_mismatch")


def test_second_capture_answers_captured_without_a_call() -> None:
    decision = decide_capture(captured(), 1000, "EUR")
    assert decision.call is None
    assert decision.answer == Answer(Reply.CAPTURED, amount_minor=1000)


@pytest.mark.parametrize(
    ("current", "reason"),
    [
        (None, "payment_not_found"),
        (payment(PaymentStatus.AUTHORIZATION_PENDING), "authorization_pending"),
        (payment(PaymentStatus.DECLINED), "payment_declined"),
        (payment(PaymentStatus.VOIDED), "payment_voided"),
        (captured(status=PaymentStatus.REFUNDED, refunded_minor=1000), "payment_refunded"),
    ],
)
def test_capture_of_anything_but_authorized_fails(current: Payment | None, reason: str) -> None:
    decision = decide_capture(current, 1000, "EUR")
    assert decision.call is None
    assert decision.answer == Answer(Reply.CAPTURE_FAILED, reason)


def test_declined_capture_fails_and_keeps_the_authorization() -> None:
    authorized = payment(PaymentStatus.AUTHORIZED)
    decision = apply_result(authorized, Call.CAPTURE, 1000, GatewayResult.declined("expired"))
    assert decision.payment is None
    assert decision.answer == Answer(Reply.CAPTURE_FAILED, "expired")


def test_void_before_authorization_leaves_a_tombstone() -> None:
    decision = decide_void(None, "o1")
    assert decision.call is None
    assert decision.payment == Payment.tombstone("o1")
    assert decision.answer == Answer(Reply.VOIDED)


def test_void_before_an_unfinished_authorization_voids_at_the_gateway_too() -> None:
    decision = decide_void(None, "o1", authorization_in_flight=True)
    assert decision.call is Call.VOID
    assert decision.payment == Payment.tombstone("o1")
    after = apply_result(Payment.tombstone("o1"), Call.VOID, 0, APPROVED)
    assert after.answer == Answer(Reply.VOIDED)


@pytest.mark.parametrize("status", [PaymentStatus.AUTHORIZED, PaymentStatus.AUTHORIZATION_PENDING])
def test_void_of_an_open_authorization_calls_the_gateway(status: PaymentStatus) -> None:
    decision = decide_void(payment(status), "o1")
    assert decision.call is Call.VOID
    after = apply_result(payment(status), Call.VOID, 0, APPROVED)
    assert after.payment is not None
    assert after.payment.status is PaymentStatus.VOIDED
    assert after.answer == Answer(Reply.VOIDED)


@pytest.mark.parametrize("status", [PaymentStatus.VOIDED, PaymentStatus.DECLINED])
def test_void_of_a_closed_payment_answers_voided_again(status: PaymentStatus) -> None:
    decision = decide_void(payment(status), "o1")
    assert decision.call is None
    assert decision.payment is None
    assert decision.answer == Answer(Reply.VOIDED)


def test_void_after_capture_refunds_the_captured_amount() -> None:
    decision = decide_void(captured(), "o1")
    assert decision.call is Call.REFUND
    assert decision.call_amount_minor == 1000
    after = apply_result(captured(), Call.REFUND, 1000, APPROVED)
    assert after.payment is not None
    assert after.payment.status is PaymentStatus.REFUNDED
    assert after.answer == Answer(Reply.REFUNDED, amount_minor=1000)


def test_refund_of_a_capture_never_exceeds_what_is_left() -> None:
    decision = decide_refund(captured(), "o1", 5000, "EUR")
    assert decision.call is Call.REFUND
    assert decision.call_amount_minor == 1000
    partial = decide_refund(captured(), "o1", 400, "EUR")
    assert partial.call_amount_minor == 400
    after = apply_result(captured(), Call.REFUND, 400, APPROVED)
    assert after.payment is not None
    assert after.payment.refunded_minor == 400
    assert after.answer == Answer(Reply.REFUNDED, amount_minor=400)


def test_refund_when_refunded_answers_the_total_again() -> None:
    refunded = captured(status=PaymentStatus.REFUNDED, refunded_minor=1000)
    decision = decide_refund(refunded, "o1", 1000, "EUR")
    assert decision.call is None
    assert decision.answer == Answer(Reply.REFUNDED, amount_minor=1000)


@pytest.mark.parametrize(
    ("current", "call", "answer"),
    [
        (payment(PaymentStatus.AUTHORIZED), Call.VOID, None),
        (payment(PaymentStatus.AUTHORIZATION_PENDING), Call.VOID, None),
        (None, None, Answer(Reply.VOIDED)),
        (payment(PaymentStatus.DECLINED), None, Answer(Reply.VOIDED)),
    ],
)
def test_refund_of_an_uncaptured_payment_voids_it_and_never_refunds_zero(
    current: Payment | None, call: Call | None, answer: Answer | None
) -> None:
    decision = decide_refund(current, "o1", 1000, "EUR")
    assert decision.call is call
    assert decision.answer == answer
    assert decision.answer is None or decision.answer.reply is not Reply.REFUNDED


def test_refund_in_another_currency_is_a_fault_not_a_reply() -> None:
    with pytest.raises(PaymentError, match="USD"):
        decide_refund(captured(), "o1", 1000, "USD")


def test_gateway_refusing_a_void_is_a_fault() -> None:
    with pytest.raises(PaymentError, match="void"):
        apply_result(
            payment(PaymentStatus.AUTHORIZED),
            Call.VOID,
            0,
            GatewayResult.declined("already_captured"),
        )
