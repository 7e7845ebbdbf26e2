"""Operator interventions as given/expect cases: retry, force compensate and resolve in
every status, allowed or refused with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from orders.saga.commands import command_for
from orders.saga.interventions import (
    ActionRefused,
    on_force_compensate,
    on_resolve,
    on_retry,
)
from orders.saga.state import FORWARD, TERMINAL, Saga, SagaStatus, Step
from orders.saga.transitions import LEGAL_TRANSITIONS, Outcome, on_reply, on_timeout

from .saga_builders import (
    POLICY,
    REPLIES,
    T0,
    compensating,
    compensation_failed,
    completed,
    running,
    terminal,
)

S = SagaStatus
LATER = T0 + timedelta(seconds=30)

# One saga in every status; a new status without a case here fails the first test.
SAMPLES: dict[SagaStatus, Saga] = {
    S.RUNNING: running(Step.AUTHORIZE_PAYMENT),
    S.COMPENSATING: compensating(Step.VOID_PAYMENT, (Step.RELEASE_STOCK,)),
    S.COMPLETED: completed(),
    S.REJECTED: terminal(S.REJECTED),
    S.CANCELLED: terminal(S.CANCELLED),
    S.COMPENSATION_FAILED: compensation_failed(Step.RELEASE_STOCK),
    S.RESOLVED: terminal(S.RESOLVED),
}

ACTIONS: dict[str, Callable[[Saga], Outcome]] = {
    "retry": lambda saga: on_retry(saga, LATER, POLICY),
    "compensate": lambda saga: on_force_compensate(saga, LATER, POLICY, "stuck at the carrier"),
    "resolve": lambda saga: on_resolve(saga, LATER, "refunded by hand, ticket OPS-7"),
}

ALLOWED: dict[str, set[SagaStatus]] = {
    "retry": {S.RUNNING, S.COMPENSATING},
    "compensate": {S.RUNNING, S.COMPLETED, S.COMPENSATION_FAILED},
    "resolve": {S.COMPENSATION_FAILED},
}


def commands(outcome: Outcome) -> list[str]:
    return [message.TYPE for _, message in outcome.commands]


def test_every_status_has_a_case() -> None:
    assert set(SAMPLES) == set(SagaStatus)
    assert S.RESOLVED in TERMINAL


@pytest.mark.parametrize("status", list(SagaStatus))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_is_allowed_only_in_its_statuses(action: str, status: SagaStatus) -> None:
    saga = SAMPLES[status]
    if status not in ALLOWED[action]:
        with pytest.raises(ActionRefused) as refused:
            ACTIONS[action](saga)
        assert str(refused.value)  # an operator is always told why
        return
    outcome = ACTIONS[action](saga)
    assert outcome.changed
    assert (saga.status, outcome.saga.status) in LEGAL_TRANSITIONS
    assert outcome.note.startswith(f"operator {action}")


# -- retry ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "saga",
    [
        *(running(step) for step in FORWARD),
        compensating(Step.REFUND_PAYMENT, (Step.RELEASE_STOCK,)),
    ],
    ids=lambda saga: f"{saga.status}-{saga.step}",
)
def test_retry_resends_the_same_command_with_a_new_deadline(saga: Saga) -> None:
    assert saga.step is not None
    outcome = on_retry(saga, LATER, POLICY)
    assert (outcome.saga.status, outcome.saga.step) == (saga.status, saga.step)
    assert outcome.saga.attempt == saga.attempt + 1
    assert outcome.saga.deadline == LATER + POLICY.step_timeout
    assert outcome.saga.compensations == saga.compensations
    assert outcome.commands == (command_for(saga, saga.step),)
    assert outcome.events == ()


def test_retry_sends_what_a_timeout_would_resend() -> None:
    saga = running(Step.CAPTURE_PAYMENT)
    assert saga.deadline is not None
    assert (
        on_retry(saga, LATER, POLICY).commands == on_timeout(saga, saga.deadline, POLICY).commands
    )


def test_retry_without_a_step_in_flight_is_refused() -> None:
    with pytest.raises(ActionRefused, match="no step"):
        on_retry(running(Step.RESERVE_STOCK).evolve(step=None), LATER, POLICY)


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.COMPENSATION_FAILED, S.RESOLVED])
def test_retry_of_a_finished_saga_names_its_status(status: SagaStatus) -> None:
    with pytest.raises(ActionRefused, match=status.value.lower()):
        on_retry(SAMPLES[status], LATER, POLICY)


# -- force compensate ------------------------------------------------------------------

# given a RUNNING saga at a step -> expect the first compensation and the rest queued;
# the in-flight step is treated as possibly done, so it is undone too.
RUNNING_CASES = [
    (Step.RESERVE_STOCK, "ReleaseStock", ()),
    (Step.AUTHORIZE_PAYMENT, "VoidPayment", (Step.RELEASE_STOCK,)),
    (Step.CREATE_SHIPMENT, "CancelShipment", (Step.VOID_PAYMENT, Step.RELEASE_STOCK)),
    (Step.CAPTURE_PAYMENT, "CancelShipment", (Step.REFUND_PAYMENT, Step.RELEASE_STOCK)),
    (Step.COMMIT_STOCK, "CancelShipment", (Step.REFUND_PAYMENT, Step.RELEASE_STOCK)),
]


@pytest.mark.parametrize(("step", "first", "rest"), RUNNING_CASES)
def test_force_compensate_running_saga(step: Step, first: str, rest: tuple[Step, ...]) -> None:
    outcome = on_force_compensate(running(step), LATER, POLICY, "  stuck at the carrier ")
    assert outcome.saga.status is S.COMPENSATING
    assert commands(outcome) == [first]
    assert outcome.saga.compensations == rest
    assert (outcome.saga.attempt, outcome.saga.deadline) == (1, LATER + POLICY.step_timeout)
    assert outcome.saga.reason == "stuck at the carrier"
    assert outcome.note == "operator compensate: stuck at the carrier"


def test_force_compensate_completed_saga_before_dispatch_reverses_everything() -> None:
    outcome = on_force_compensate(completed(), LATER, POLICY, "fraud")
    assert outcome.saga.status is S.COMPENSATING
    assert commands(outcome) == ["CancelShipment"]
    assert outcome.saga.compensations == (Step.REFUND_PAYMENT, Step.RELEASE_STOCK)


def test_force_compensate_after_dispatch_is_refused() -> None:
    with pytest.raises(ActionRefused, match="dispatched"):
        on_force_compensate(completed(shipment_dispatched=True), LATER, POLICY, "fraud")


@pytest.mark.parametrize(
    ("step", "rest", "first"),
    [
        (Step.RELEASE_STOCK, (), "ReleaseStock"),
        (Step.CANCEL_SHIPMENT, (Step.REFUND_PAYMENT, Step.RELEASE_STOCK), "CancelShipment"),
        (None, (Step.RELEASE_STOCK,), "ReleaseStock"),
    ],
)
def test_force_compensate_restarts_a_failed_compensation_from_its_step(
    step: Step | None, rest: tuple[Step, ...], first: str
) -> None:
    outcome = on_force_compensate(compensation_failed(step, rest), LATER, POLICY, "carrier fixed")
    assert outcome.saga.status is S.COMPENSATING
    assert commands(outcome) == [first]
    expected_rest = rest if step is not None else rest[1:]
    assert outcome.saga.compensations == expected_rest
    assert (outcome.saga.attempt, outcome.saga.deadline) == (1, LATER + POLICY.step_timeout)
    assert outcome.saga.reason == "carrier fixed"
    # Earlier compensations that succeeded are not run again, although the facts still
    # say the payment was captured.
    assert Step.VOID_PAYMENT not in outcome.saga.compensations


def test_restarted_compensation_finishes_as_cancelled() -> None:
    outcome = on_force_compensate(compensation_failed(Step.RELEASE_STOCK), LATER, POLICY, "ok")
    done = on_reply(outcome.saga, REPLIES["StockReleased"], LATER, POLICY)
    assert done.saga.status is S.CANCELLED
    assert [event.TYPE for event in done.events] == ["OrderCancelled"]


def test_force_compensate_with_nothing_left_is_refused() -> None:
    with pytest.raises(ActionRefused, match="resolve"):
        on_force_compensate(compensation_failed(None), LATER, POLICY, "why not")


@pytest.mark.parametrize(
    ("status", "why"),
    [(S.COMPENSATING, "already compensating"), (S.REJECTED, "rejected"),
     (S.CANCELLED, "cancelled"), (S.RESOLVED, "resolved")],
)  # fmt: skip
def test_force_compensate_refusals_say_why(status: SagaStatus, why: str) -> None:
    with pytest.raises(ActionRefused, match=why):
        on_force_compensate(SAMPLES[status], LATER, POLICY, "because")


def test_force_compensate_needs_a_reason() -> None:
    with pytest.raises(ActionRefused, match="reason"):
        on_force_compensate(running(Step.RESERVE_STOCK), LATER, POLICY, "   ")


# -- resolve ---------------------------------------------------------------------------


def test_resolve_ends_a_failed_compensation_and_sends_nothing() -> None:
    saga = compensation_failed(Step.CANCEL_SHIPMENT, (Step.REFUND_PAYMENT, Step.RELEASE_STOCK))
    outcome = on_resolve(saga, LATER, " refunded by hand ")
    assert outcome.saga.status is S.RESOLVED
    assert outcome.saga.status.terminal
    assert (outcome.saga.step, outcome.saga.deadline, outcome.saga.compensations) == (
        None, None, (),
    )  # fmt: skip
    assert outcome.saga.reason == "refunded by hand"
    assert (outcome.commands, outcome.events) == ((), ())
    assert "CANCEL_SHIPMENT, REFUND_PAYMENT, RELEASE_STOCK" in outcome.note


def test_resolve_needs_a_note() -> None:
    with pytest.raises(ActionRefused, match="note"):
        on_resolve(SAMPLES[S.COMPENSATION_FAILED], LATER, "")


@pytest.mark.parametrize("status", sorted(set(SagaStatus) - {S.COMPENSATION_FAILED}))
def test_resolve_of_anything_else_is_refused(status: SagaStatus) -> None:
    with pytest.raises(ActionRefused, match="compensation failed"):
        on_resolve(SAMPLES[status], LATER, "done")


def test_resolved_saga_stays_resolved() -> None:
    resolved = on_resolve(SAMPLES[S.COMPENSATION_FAILED], LATER, "done").saga
    assert not on_timeout(resolved, LATER + timedelta(hours=1), POLICY).changed
    late = on_reply(resolved, REPLIES["PaymentCaptured"], LATER, POLICY)
    assert late.saga.status is S.RESOLVED
    assert (resolved.status, late.saga.status) in LEGAL_TRANSITIONS
