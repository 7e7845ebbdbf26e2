"""The saga's transition table as given/expect cases: every state with every reply,
timeouts, duplicates, late replies and customer cancels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderflow_contracts.checkout import OrderCancellationRequested
from orderflow_contracts.inbound import OrderCancellationAccepted, OrderCancellationRefused
from orders.saga.state import TERMINAL, Saga, SagaStatus, Step, UpstreamCancel
from orders.saga.transitions import (
    LEGAL_TRANSITIONS,
    CancelRefused,
    Outcome,
    on_cancel,
    on_reply,
    on_timeout,
    on_upstream_cancel,
    start,
)

from .saga_builders import (
    OID,
    ORDER,
    POLICY,
    REPLIES,
    T0,
    compensating,
    completed,
    running,
    terminal,
)

S = SagaStatus
LATER = T0 + timedelta(seconds=1)


def commands(outcome: Outcome) -> list[str]:
    return [message.TYPE for _, message in outcome.commands]


def events(outcome: Outcome) -> list[str]:
    return [message.TYPE for message in outcome.events]


def test_start_reserves_stock_with_a_deadline() -> None:
    outcome = start("order-1", ORDER, T0, POLICY)
    assert outcome.saga.status is S.RUNNING
    assert outcome.saga.step is Step.RESERVE_STOCK
    assert outcome.saga.deadline == T0 + POLICY.step_timeout
    assert commands(outcome) == ["ReserveStock"]
    assert outcome.commands[0][0] == "inventory.commands"


# given (status at step) + reply -> expect (status, step, commands, events)
FORWARD_CASES = [
    (Step.REDEEM_PROMOTIONS, "PromotionsRedeemed", S.RUNNING, Step.RESERVE_STOCK, ["ReserveStock"], []),
    (Step.REDEEM_PROMOTIONS, "PromotionRedemptionRefused", S.REJECTED, None, [], ["OrderRejected"]),
    (Step.RESERVE_STOCK, "StockReserved", S.RUNNING, Step.AUTHORIZE_PAYMENT, ["AuthorizePayment"], []),
    (Step.RESERVE_STOCK, "StockReservationFailed", S.REJECTED, None, [], ["OrderRejected"]),
    (Step.AUTHORIZE_PAYMENT, "PaymentAuthorized", S.RUNNING, Step.CREATE_SHIPMENT, ["CreateShipment"], ["OrderConfirmed"]),
    (Step.AUTHORIZE_PAYMENT, "PaymentDeclined", S.COMPENSATING, Step.RELEASE_STOCK, ["ReleaseStock"], []),
    (Step.CREATE_SHIPMENT, "ShipmentCreated", S.RUNNING, Step.CAPTURE_PAYMENT, ["CapturePayment"], []),
    (Step.CREATE_SHIPMENT, "ShipmentFailed", S.COMPENSATING, Step.VOID_PAYMENT, ["VoidPayment"], []),
    (Step.CAPTURE_PAYMENT, "PaymentCaptured", S.RUNNING, Step.COMMIT_STOCK, ["CommitStock"], []),
    (Step.CAPTURE_PAYMENT, "PaymentCaptureFailed", S.COMPENSATING, Step.CANCEL_SHIPMENT, ["CancelShipment"], []),
    (Step.COMMIT_STOCK, "StockCommitted", S.COMPLETED, None, [], ["OrderCompleted"]),
]  # fmt: skip


@pytest.mark.parametrize(("step", "reply", "status", "next_step", "cmds", "evts"), FORWARD_CASES)
def test_forward_replies(
    step: Step, reply: str, status: S, next_step: Step | None, cmds: list[str], evts: list[str]
) -> None:
    outcome = on_reply(running(step), REPLIES[reply], LATER, POLICY)
    assert (outcome.saga.status, outcome.saga.step) == (status, next_step)
    assert commands(outcome) == cmds
    assert events(outcome) == evts
    if status is S.RUNNING:
        assert outcome.saga.attempt == 1
        assert outcome.saga.deadline == LATER + POLICY.step_timeout
    if status.terminal:
        assert outcome.saga.deadline is None


def test_compensation_after_capture_failure_runs_in_reverse_order() -> None:
    saga = running(Step.CAPTURE_PAYMENT)
    outcome = on_reply(saga, REPLIES["PaymentCaptureFailed"], LATER, POLICY)
    assert outcome.saga.compensations == (Step.VOID_PAYMENT, Step.RELEASE_STOCK)
    outcome = on_reply(outcome.saga, REPLIES["ShipmentCancelled"], LATER, POLICY)
    assert commands(outcome) == ["VoidPayment"]
    outcome = on_reply(outcome.saga, REPLIES["PaymentVoided"], LATER, POLICY)
    assert commands(outcome) == ["ReleaseStock"]
    outcome = on_reply(outcome.saga, REPLIES["StockReleased"], LATER, POLICY)
    assert outcome.saga.status is S.CANCELLED
    assert events(outcome) == ["OrderCancelled"]
    assert outcome.saga.reason == "capture failed: expired"


@pytest.mark.parametrize("step", list(running.__globals__["_FACTS_AT"]))
@pytest.mark.parametrize("reply", sorted(REPLIES))
def test_every_reply_in_every_running_step_is_handled_or_ignored(step: Step, reply: str) -> None:
    saga = running(step)
    outcome = on_reply(saga, REPLIES[reply], LATER, POLICY)
    assert (saga.status, outcome.saga.status) in LEGAL_TRANSITIONS
    expected = {case[1] for case in FORWARD_CASES if case[0] is step}
    if reply in expected:
        assert outcome.changed
    elif reply not in ("ShipmentDispatched", "ShipmentDelivered"):
        assert not outcome.changed, f"{reply} at {step} should be ignored"
        assert outcome.commands == ()
        assert outcome.saga == saga


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize("reply", sorted(REPLIES))
def test_terminal_sagas_never_leave_their_state_on_a_reply(status: S, reply: str) -> None:
    saga = completed() if status is S.COMPLETED else terminal(status)
    outcome = on_reply(saga, REPLIES[reply], LATER, POLICY)
    assert outcome.saga.status is status
    assert outcome.events == ()


def test_duplicate_replies_are_ignored() -> None:
    saga = on_reply(running(Step.RESERVE_STOCK), REPLIES["StockReserved"], LATER, POLICY).saga
    again = on_reply(saga, REPLIES["StockReserved"], LATER, POLICY)
    assert not again.changed
    assert again.commands == ()
    done = completed()
    assert on_reply(done, REPLIES["PaymentCaptured"], LATER, POLICY).commands == ()


@pytest.mark.parametrize(
    ("reply", "undo"),
    [
        ("PaymentAuthorized", "VoidPayment"),
        ("PaymentCaptured", "RefundPayment"),
        ("StockReserved", "ReleaseStock"),
        ("ShipmentCreated", "CancelShipment"),
    ],
)
def test_late_replies_after_giving_up_are_compensated(reply: str, undo: str) -> None:
    cancelled = terminal(S.CANCELLED)
    outcome = on_reply(cancelled, REPLIES[reply], LATER, POLICY)
    assert commands(outcome) == [undo]
    assert outcome.saga.status is S.CANCELLED


def test_timeout_resends_then_compensates_the_uncertain_step() -> None:
    saga = running(Step.AUTHORIZE_PAYMENT)
    assert not on_timeout(saga, T0, POLICY).changed  # not due yet
    due = saga.deadline
    assert due is not None
    first = on_timeout(saga, due, POLICY)
    assert commands(first) == ["AuthorizePayment"]
    assert first.saga.attempt == 2
    assert (
        first.commands[0][1]
        == on_reply(running(Step.RESERVE_STOCK), REPLIES["StockReserved"], T0, POLICY).commands[0][
            1
        ]
    )
    second = on_timeout(first.saga, due + POLICY.step_timeout, POLICY)
    assert second.saga.attempt == 3
    gave_up = on_timeout(second.saga, due + 2 * POLICY.step_timeout, POLICY)
    assert gave_up.saga.status is S.COMPENSATING
    # The authorization may have happened: void it, then release the stock.
    assert commands(gave_up) == ["VoidPayment"]
    assert gave_up.saga.compensations == (Step.RELEASE_STOCK,)
    assert gave_up.saga.reason == "AUTHORIZE_PAYMENT timed out"


def test_compensation_that_keeps_timing_out_fails_for_manual_resolution() -> None:
    saga = compensating(Step.RELEASE_STOCK)
    now = T0
    for _ in range(POLICY.compensation_retries):
        now += POLICY.step_timeout
        outcome = on_timeout(saga, now, POLICY)
        assert commands(outcome) == ["ReleaseStock"]
        saga = outcome.saga
    outcome = on_timeout(saga, now + POLICY.step_timeout, POLICY)
    assert outcome.saga.status is S.COMPENSATION_FAILED
    assert events(outcome) == ["OrderCompensationFailed"]


def test_cancellation_refused_by_carrier_fails_compensation() -> None:
    saga = compensating(Step.CANCEL_SHIPMENT, (Step.REFUND_PAYMENT, Step.RELEASE_STOCK))
    outcome = on_reply(saga, REPLIES["ShipmentCancellationFailed"], LATER, POLICY)
    assert outcome.saga.status is S.COMPENSATION_FAILED


def test_customer_cancel_while_running_undoes_the_in_flight_step() -> None:
    outcome = on_cancel(running(Step.CREATE_SHIPMENT), LATER, POLICY, "cancelled by customer")
    assert commands(outcome) == ["CancelShipment"]
    assert outcome.saga.compensations == (Step.VOID_PAYMENT, Step.RELEASE_STOCK)


def test_customer_cancel_of_completed_order_before_dispatch() -> None:
    outcome = on_cancel(completed(), LATER, POLICY, "cancelled by customer")
    assert outcome.saga.status is S.COMPENSATING
    assert commands(outcome) == ["CancelShipment"]
    assert outcome.saga.compensations == (Step.REFUND_PAYMENT, Step.RELEASE_STOCK)


@pytest.mark.parametrize(
    "saga",
    [completed(shipment_dispatched=True), terminal(S.CANCELLED), terminal(S.REJECTED)],
    ids=["dispatched", "cancelled", "rejected"],
)
def test_customer_cancel_refused(saga: Saga) -> None:
    with pytest.raises(CancelRefused):
        on_cancel(saga, LATER, POLICY, "cancelled by customer")


def test_tracking_events_are_recorded_once() -> None:
    saga = completed()
    outcome = on_reply(saga, REPLIES["ShipmentDispatched"], LATER, POLICY)
    assert outcome.saga.facts.shipment_dispatched
    assert not on_reply(outcome.saga, REPLIES["ShipmentDispatched"], LATER, POLICY).changed


def _asked(reference: str = "PS-1") -> OrderCancellationRequested:
    return OrderCancellationRequested(
        order_id=OID, reference=reference, reason="customer changed their mind"
    )


def test_upstream_cancel_before_dispatch_compensates_and_answers_accepted() -> None:
    outcome = on_upstream_cancel(completed(), _asked(), LATER, POLICY)
    assert outcome.saga.status is S.COMPENSATING
    assert commands(outcome) == ["CancelShipment"]
    assert outcome.saga.reason == "customer changed their mind"
    assert outcome.replies == (OrderCancellationAccepted(reference="PS-1", order_id=OID),)
    assert outcome.saga.upstream_cancel == UpstreamCancel("PS-1", accepted=True)


@pytest.mark.parametrize(
    ("saga", "why"),
    [
        (completed(shipment_dispatched=True), "the order was already dispatched"),
        (terminal(S.REJECTED), "the order is already rejected"),
    ],
    ids=["dispatched", "rejected"],
)
def test_upstream_cancel_too_late_is_refused_with_the_reason(saga: Saga, why: str) -> None:
    outcome = on_upstream_cancel(saga, _asked(), LATER, POLICY)
    assert (outcome.saga.status, outcome.commands, outcome.events) == (saga.status, (), ())
    assert outcome.changed  # the answer is kept
    [reply] = outcome.replies
    assert isinstance(reply, OrderCancellationRefused)
    assert (reply.reference, reply.order_id) == ("PS-1", OID)
    assert [(r.field, r.reason) for r in reply.reasons] == [("order", why)]


def test_a_resent_upstream_cancel_gets_the_same_answer_and_changes_nothing() -> None:
    first = on_upstream_cancel(running(Step.AUTHORIZE_PAYMENT), _asked(), LATER, POLICY)
    # By the resend the saga has moved on (here: cancelled); the answer stays "accepted".
    moved_on = first.saga.evolve(status=S.CANCELLED, step=None, compensations=())
    again = on_upstream_cancel(moved_on, _asked(), LATER, POLICY)
    assert not again.changed
    assert (again.commands, again.events) == ((), ())
    assert again.replies == first.replies
    refused = on_upstream_cancel(completed(shipment_dispatched=True), _asked(), LATER, POLICY)
    assert on_upstream_cancel(refused.saga, _asked(), LATER, POLICY).replies == refused.replies
