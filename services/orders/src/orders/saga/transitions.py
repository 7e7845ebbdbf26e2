"""Pure transitions: (state, reply | timeout | cancel, now, policy) -> new state + messages.

Forward: [REDEEM_PROMOTIONS ->] RESERVE_STOCK -> AUTHORIZE_PAYMENT -> CREATE_SHIPMENT ->
CAPTURE_PAYMENT -> COMMIT_STOCK -> COMPLETED (the redemption only for an order with
limited promotions; refused, the order is REJECTED with nothing to undo). A failure reply
or an exhausted timeout compensates what was done, in reverse order: CANCEL_SHIPMENT,
VOID_PAYMENT or REFUND_PAYMENT, RELEASE_STOCK, RELEASE_PROMOTIONS. Stock refused after
the promotions were redeemed releases them, then the order is REJECTED.
When a step timed out its outcome is unknown, so it is compensated too (every
compensation is idempotent at the participant, also for something that never happened).

Replies the saga is not waiting for are either duplicates (the fact is already known:
ignored) or late (the saga gave up on that step): a late authorization is voided, a late
capture refunded, a late reservation released, a late shipment cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from orderflow_contracts.checkout import OrderCancellationRequested
from orderflow_contracts.inbound import (
    OrderCancellationAccepted,
    OrderCancellationRefused,
    Reason,
)
from orderflow_contracts.inventory import (
    StockCommitted,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)
from orderflow_contracts.orders import (
    OrderCancelled,
    OrderCompensationFailed,
    OrderCompleted,
    OrderConfirmed,
    OrderRejected,
)
from orderflow_contracts.payment import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
)
from orderflow_contracts.promotions import (
    PromotionRedemptionRefused,
    PromotionsRedeemed,
    PromotionsReleased,
)
from orderflow_contracts.shipping import (
    ShipmentCancellationFailed,
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentFailed,
)
from orderflow_messaging.registry import Message
from orders.saga.commands import Command, command_for, release_promotions
from orders.saga.policy import SagaPolicy
from orders.saga.state import Facts, OrderData, Saga, SagaStatus, Step, UpstreamCancel

S = SagaStatus
UpstreamReply = OrderCancellationAccepted | OrderCancellationRefused

# Every status change the saga may make; `orderflow verify` checks histories against it.
LEGAL_TRANSITIONS: frozenset[tuple[SagaStatus | None, SagaStatus]] = frozenset(
    {
        (None, S.RUNNING),
        (S.RUNNING, S.RUNNING),
        (S.RUNNING, S.COMPLETED),
        (S.RUNNING, S.REJECTED),
        (S.RUNNING, S.COMPENSATING),
        (S.RUNNING, S.CANCELLED),
        (S.COMPENSATING, S.COMPENSATING),
        (S.COMPENSATING, S.CANCELLED),
        (S.COMPENSATING, S.COMPENSATION_FAILED),
        # Stock refused after the promotions were redeemed: released, then rejected.
        (S.COMPENSATING, S.REJECTED),
        # A customer (or an operator) may cancel a completed order until dispatch.
        (S.COMPLETED, S.COMPENSATING),
        (S.COMPLETED, S.COMPLETED),
        (S.REJECTED, S.REJECTED),
        (S.CANCELLED, S.CANCELLED),
        (S.COMPENSATION_FAILED, S.COMPENSATION_FAILED),
        (S.RESOLVED, S.RESOLVED),
        # Only an operator (saga/interventions.py) restarts or settles a failed compensation.
        (S.COMPENSATION_FAILED, S.COMPENSATING),
        (S.COMPENSATION_FAILED, S.RESOLVED),
    }
)


@dataclass(frozen=True)
class Outcome:
    saga: Saga
    commands: tuple[Command, ...] = ()
    events: tuple[Message, ...] = ()
    note: str = ""
    changed: bool = True
    # Answers to an upstream system (on orders.inbound.replies, keyed by its reference).
    replies: tuple[UpstreamReply, ...] = ()


class CancelRefused(Exception):
    """The order can no longer be cancelled (the reason is for the customer)."""


def start(order_id: str, order: OrderData, now: datetime, policy: SagaPolicy) -> Outcome:
    first = Step.REDEEM_PROMOTIONS if order.promotions else Step.RESERVE_STOCK
    saga = Saga(order_id, order, S.RUNNING, first, 1, now + policy.step_timeout)
    return Outcome(saga, (command_for(saga, first),), note="saga started")


def on_reply(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
    if isinstance(reply, ShipmentDispatched | ShipmentDelivered):
        return _tracking(saga, reply, now)
    if saga.step is not None:
        table = _FORWARD if saga.status is S.RUNNING else _COMPENSATION
        if saga.status in (S.RUNNING, S.COMPENSATING):
            handler = table.get(saga.step, {}).get(type(reply))
            if handler is not None:
                return handler(saga, reply, now, policy)
    return _unexpected(saga, reply)


def on_timeout(saga: Saga, now: datetime, policy: SagaPolicy) -> Outcome:
    if saga.status.terminal or saga.step is None or saga.deadline is None:
        return Outcome(saga, note="no deadline", changed=False)
    if now < saga.deadline:
        return Outcome(saga, note="not due", changed=False)
    compensating = saga.status is S.COMPENSATING
    if saga.attempt <= policy.retries_for(compensating):
        resent = saga.evolve(attempt=saga.attempt + 1, deadline=now + policy.step_timeout)
        return Outcome(
            resent,
            (command_for(resent, saga.step),),
            note=f"{saga.step} timed out; resent (attempt {resent.attempt})",
        )
    reason = f"{saga.step} timed out"
    if compensating:
        return _compensation_failed(saga, f"{reason} during compensation")
    return compensate(saga, reason, now, policy, step_failed=False)


def on_upstream_cancel(
    saga: Saga, request: OrderCancellationRequested, now: datetime, policy: SagaPolicy
) -> Outcome:
    """An upstream system's CancelOrder: the rules of any cancellation (``on_cancel``),
    answered to the upstream either way; the answer is kept, so a resend gets it again
    (even once the saga has moved on)."""
    if saga.upstream_cancel is not None:
        return Outcome(
            saga, replies=(_upstream_answer(saga, saga.upstream_cancel),), changed=False,
            note="upstream cancellation again: answered as before",
        )  # fmt: skip
    try:
        outcome = on_cancel(saga, now, policy, request.reason)
    except CancelRefused as refused:
        answer = UpstreamCancel(request.reference, accepted=False, refusal=str(refused))
        return Outcome(
            saga.evolve(upstream_cancel=answer), replies=(_upstream_answer(saga, answer),),
            note=f"upstream cancellation refused: {refused}",
        )  # fmt: skip
    answer = UpstreamCancel(request.reference, accepted=True)
    return replace(
        outcome,
        saga=outcome.saga.evolve(upstream_cancel=answer),
        replies=(_upstream_answer(saga, answer),),
        note=f"upstream cancellation: {outcome.note}",
    )


def _upstream_answer(saga: Saga, answer: UpstreamCancel) -> UpstreamReply:
    if answer.accepted:
        return OrderCancellationAccepted(reference=answer.reference, order_id=saga.order_id)
    refusal = Reason(field="order", reason=answer.refusal or "refused")
    return OrderCancellationRefused(
        reference=answer.reference, order_id=saga.order_id, reasons=[refusal]
    )


def on_cancel(saga: Saga, now: datetime, policy: SagaPolicy, reason: str) -> Outcome:
    if saga.status is S.RUNNING:
        return compensate(saga, reason, now, policy, step_failed=False)
    if saga.status is S.COMPLETED and not saga.facts.shipment_dispatched:
        return compensate(saga.evolve(step=None), reason, now, policy, step_failed=True)
    if saga.status is S.COMPLETED:
        raise CancelRefused("the order was already dispatched")
    raise CancelRefused(f"the order is already {saga.status.value.lower()}")


# -- forward -----------------------------------------------------------------------


def _advance(saga: Saga, facts: Facts, step: Step, now: datetime, policy: SagaPolicy) -> Saga:
    return saga.evolve(facts=facts, step=step, attempt=1, deadline=now + policy.step_timeout)


def _forward(
    fact: str, next_step: Step, events: Callable[[Saga], tuple[Message, ...]] = lambda _: ()
) -> Callable[[Saga, Message, datetime, SagaPolicy], Outcome]:
    def handle(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
        facts = replace(saga.facts, **{fact: True})
        moved = _advance(saga, facts, next_step, now, policy)
        return Outcome(moved, (command_for(moved, next_step),), events(moved), note=f"{reply.TYPE}")

    return handle


def _completed(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
    facts = replace(saga.facts, stock_committed=True)
    done = saga.evolve(status=S.COMPLETED, step=None, deadline=None, attempt=0, facts=facts)
    event = OrderCompleted(order_id=saga.order_id, total_minor=saga.order.total_minor)
    return Outcome(done, events=(event,), note=reply.TYPE)


def _rejected(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
    if isinstance(reply, StockReservationFailed):
        reason = (
            f"{reply.reason}: {', '.join(reply.unavailable)}" if reply.unavailable else reply.reason
        )
    else:
        assert isinstance(reply, PromotionRedemptionRefused)
        reason = f"promotion refused: {reply.reason}"
    if saga.facts.promotions_redeemed:
        releasing = saga.evolve(
            status=S.COMPENSATING, reason=reason, rejecting=True,
            compensations=(Step.RELEASE_PROMOTIONS,),
        )  # fmt: skip
        return next_compensation(releasing, now, policy, note=f"{reply.TYPE}: releasing")
    return _reject(saga, reason, reply.TYPE)


def _reject(saga: Saga, reason: str, note: str) -> Outcome:
    done = saga.evolve(status=S.REJECTED, step=None, deadline=None, attempt=0, reason=reason)
    return Outcome(done, events=(OrderRejected(order_id=saga.order_id, reason=reason),), note=note)


def _failed(prefix: str) -> Callable[[Saga, Message, datetime, SagaPolicy], Outcome]:
    def handle(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
        detail = getattr(reply, "reason", reply.TYPE)
        return compensate(saga, f"{prefix}: {detail}", now, policy, step_failed=True)

    return handle


_FORWARD: dict[
    Step, dict[type[Message], Callable[[Saga, Message, datetime, SagaPolicy], Outcome]]
] = {
    Step.REDEEM_PROMOTIONS: {
        PromotionsRedeemed: _forward("promotions_redeemed", Step.RESERVE_STOCK),
        PromotionRedemptionRefused: _rejected,
    },
    Step.RESERVE_STOCK: {
        StockReserved: _forward("stock_reserved", Step.AUTHORIZE_PAYMENT),
        StockReservationFailed: _rejected,
    },
    Step.AUTHORIZE_PAYMENT: {
        PaymentAuthorized: _forward(
            "payment_authorized",
            Step.CREATE_SHIPMENT,
            lambda s: (OrderConfirmed(order_id=s.order_id),),
        ),
        PaymentDeclined: _failed("payment declined"),
    },
    Step.CREATE_SHIPMENT: {
        ShipmentCreated: _forward("shipment_created", Step.CAPTURE_PAYMENT),
        ShipmentFailed: _failed("shipment failed"),
    },
    Step.CAPTURE_PAYMENT: {
        PaymentCaptured: _forward("payment_captured", Step.COMMIT_STOCK),
        PaymentCaptureFailed: _failed("capture failed"),
    },
    Step.COMMIT_STOCK: {StockCommitted: _completed},
}


# -- compensation --------------------------------------------------------------------


def compensate(
    saga: Saga, reason: str, now: datetime, policy: SagaPolicy, *, step_failed: bool
) -> Outcome:
    """Undo what was done, newest first. An in-flight step that did not fail explicitly
    may have happened, so it is undone too."""
    facts = saga.facts
    maybe = None if step_failed else saga.step
    steps: list[Step] = []
    if facts.shipment_created or maybe is Step.CREATE_SHIPMENT:
        steps.append(Step.CANCEL_SHIPMENT)
    if facts.payment_captured or maybe is Step.CAPTURE_PAYMENT:
        steps.append(Step.REFUND_PAYMENT)
    elif facts.payment_authorized or maybe is Step.AUTHORIZE_PAYMENT:
        steps.append(Step.VOID_PAYMENT)
    if facts.stock_reserved or maybe is Step.RESERVE_STOCK:
        steps.append(Step.RELEASE_STOCK)
    if facts.promotions_redeemed or maybe is Step.REDEEM_PROMOTIONS:
        steps.append(Step.RELEASE_PROMOTIONS)
    compensating = saga.evolve(status=S.COMPENSATING, reason=reason, compensations=tuple(steps))
    return next_compensation(compensating, now, policy, note=f"compensating: {reason}")


def next_compensation(saga: Saga, now: datetime, policy: SagaPolicy, note: str) -> Outcome:
    if not saga.compensations and saga.rejecting:
        return _reject(saga.evolve(rejecting=False), saga.reason or "rejected", note)
    if not saga.compensations:
        reason = saga.reason or "cancelled"
        done = saga.evolve(status=S.CANCELLED, step=None, deadline=None, attempt=0)
        return Outcome(
            done, events=(OrderCancelled(order_id=saga.order_id, reason=reason),), note=note
        )
    step, rest = saga.compensations[0], saga.compensations[1:]
    moved = saga.evolve(
        step=step, compensations=rest, attempt=1, deadline=now + policy.step_timeout
    )
    return Outcome(moved, (command_for(moved, step),), note=note)


def _compensated(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
    return next_compensation(saga, now, policy, note=reply.TYPE)


def _cancellation_failed(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
    return _compensation_failed(saga, f"shipment not cancelled: {getattr(reply, 'reason', '')}")


def _compensation_failed(saga: Saga, reason: str) -> Outcome:
    done = saga.evolve(status=S.COMPENSATION_FAILED, deadline=None, reason=reason)
    event = OrderCompensationFailed(order_id=saga.order_id, reason=reason)
    return Outcome(done, events=(event,), note=f"compensation failed: {reason}")


_COMPENSATION: dict[
    Step, dict[type[Message], Callable[[Saga, Message, datetime, SagaPolicy], Outcome]]
] = {
    Step.CANCEL_SHIPMENT: {
        ShipmentCancelled: _compensated,
        ShipmentCancellationFailed: _cancellation_failed,
    },
    Step.VOID_PAYMENT: {PaymentVoided: _compensated, PaymentRefunded: _compensated},
    Step.REFUND_PAYMENT: {PaymentRefunded: _compensated, PaymentVoided: _compensated},
    Step.RELEASE_STOCK: {StockReleased: _compensated},
    Step.RELEASE_PROMOTIONS: {PromotionsReleased: _compensated},
}


# -- everything else -------------------------------------------------------------------

_LATE: dict[type[Message], tuple[str, Step]] = {
    StockReserved: ("stock_reserved", Step.RELEASE_STOCK),
    PaymentAuthorized: ("payment_authorized", Step.VOID_PAYMENT),
    PaymentCaptured: ("payment_captured", Step.REFUND_PAYMENT),
    ShipmentCreated: ("shipment_created", Step.CANCEL_SHIPMENT),
}


def _unexpected(saga: Saga, reply: Message) -> Outcome:
    if isinstance(reply, PromotionsRedeemed):
        return _late_redemption(saga, reply)
    late = _LATE.get(type(reply))
    if late is None or getattr(saga.facts, late[0]) or saga.status is S.RUNNING:
        return _ignored(saga, reply)
    _, undo = late
    return Outcome(saga, (command_for(saga, undo),), note=f"late {reply.TYPE}: {undo}")


def _late_redemption(saga: Saga, reply: PromotionsRedeemed) -> Outcome:
    """Released by the ids the reply names: the uses held in the order's name, also for
    an order that named no promotion (its saga would never release them)."""
    if saga.status is S.RUNNING or (saga.order.promotions and saga.facts.promotions_redeemed):
        return _ignored(saga, reply)
    release = release_promotions(saga, reply.promotion_ids)
    return Outcome(saga, (release,), note=f"late {reply.TYPE}: {Step.RELEASE_PROMOTIONS}")


def _ignored(saga: Saga, reply: Message) -> Outcome:
    return Outcome(saga, note=f"ignored {reply.TYPE} (duplicate or stale)", changed=False)


def _tracking(saga: Saga, reply: Message, now: datetime) -> Outcome:
    delivered = isinstance(reply, ShipmentDelivered)
    fact = "shipment_delivered" if delivered else "shipment_dispatched"
    if getattr(saga.facts, fact):
        return Outcome(saga, note=f"ignored duplicate {reply.TYPE}", changed=False)
    facts = replace(saga.facts, **{fact: True})
    moved = saga.evolve(facts=facts, delivered_at=now if delivered else saga.delivered_at)
    return Outcome(moved, note=reply.TYPE)
