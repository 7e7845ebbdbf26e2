"""Operator interventions on one saga (the SRE saga console): pure, like the transitions.

- retry: resend the in-flight step's command now, for a saga that waits on a participant
  that has recovered, instead of waiting for the deadline.
- force compensate: give up on a RUNNING saga (as a customer cancel would), undo a
  COMPLETED one before dispatch, or restart a COMPENSATION_FAILED one from the step that
  failed, once whatever blocked it has been fixed.
- resolve: a human settled a COMPENSATION_FAILED saga outside the system; it ends
  RESOLVED with their note as the reason and sends nothing.

Anything else is refused with a reason (ActionRefused), never silently ignored: an
operator must learn that nothing happened.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from orders.saga.commands import command_for
from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga, SagaStatus, Step
from orders.saga.transitions import CancelRefused, Outcome, next_compensation, on_cancel

S = SagaStatus


class ActionRefused(Exception):
    """The intervention does not apply to the saga in its current state (says why)."""


def on_retry(saga: Saga, now: datetime, policy: SagaPolicy) -> Outcome:
    if saga.status not in (S.RUNNING, S.COMPENSATING):
        raise ActionRefused(f"nothing to retry: the saga is {_status(saga)}")
    if saga.step is None:
        raise ActionRefused("nothing to retry: no step is in flight")
    # Same command as every resend (same idempotency keys); the attempt counts against
    # the step's retry budget, so a retry that times out does not loop forever.
    resent = saga.evolve(attempt=saga.attempt + 1, deadline=now + policy.step_timeout)
    return Outcome(
        resent,
        (command_for(resent, saga.step),),
        note=f"operator retry: {saga.step} resent (attempt {resent.attempt})",
    )


def on_force_compensate(saga: Saga, now: datetime, policy: SagaPolicy, reason: str) -> Outcome:
    reason = _required(reason, "a reason")
    if saga.status in (S.RUNNING, S.COMPLETED):
        # Exactly the customer-cancel rules (in-flight step undone, none after dispatch),
        # so the two ways in cannot drift apart.
        try:
            outcome = on_cancel(saga, now, policy, reason)
        except CancelRefused as refused:
            raise ActionRefused(f"cannot compensate: {refused}") from None
        return replace(outcome, note=f"operator compensate: {reason}")
    if saga.status is S.COMPENSATION_FAILED:
        return _restart_compensation(saga, now, policy, reason)
    if saga.status is S.COMPENSATING:
        raise ActionRefused("the saga is already compensating (retry its step instead)")
    raise ActionRefused(f"cannot compensate: the saga is {_status(saga)}")


def on_resolve(saga: Saga, now: datetime, note: str) -> Outcome:
    note = _required(note, "a note")
    if saga.status is not S.COMPENSATION_FAILED:
        raise ActionRefused(
            f"only a saga whose compensation failed can be resolved; this one is {_status(saga)}"
        )
    left = ", ".join(s.value for s in _unfinished(saga)) or "nothing"
    done = saga.evolve(
        status=S.RESOLVED, step=None, attempt=0, deadline=None, compensations=(), reason=note
    )
    # The history keeps what was left undone when the human took over.
    return Outcome(done, note=f"operator resolve: {note} (left undone: {left})")


def _restart_compensation(saga: Saga, now: datetime, policy: SagaPolicy, reason: str) -> Outcome:
    """From the step that failed, not from the facts: the facts say what was done forward,
    not which compensations already succeeded, and those must not run again."""
    pending = _unfinished(saga)
    if not pending:
        raise ActionRefused("nothing is left to compensate (resolve the saga instead)")
    restarted = saga.evolve(status=S.COMPENSATING, compensations=pending, reason=reason)
    outcome = next_compensation(restarted, now, policy, note="")
    return replace(outcome, note=f"operator compensate: restarted at {pending[0]}: {reason}")


def _unfinished(saga: Saga) -> tuple[Step, ...]:
    return ((saga.step,) if saga.step is not None else ()) + saga.compensations


def _required(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise ActionRefused(f"{what} is required")
    return text


def _status(saga: Saga) -> str:
    return saga.status.value.lower()
