"""Saga use cases outside the consumer (timers, the customer's cancel, operator actions):
load, apply a pure transition, save with the version check, and put its commands and
events into the outbox, all in the caller's transaction. The consumer's are in
``saga_batch``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

import structlog

from orderflow_contracts import topics
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import PricedLineV4
from orderflow_messaging.crash import crashpoint
from orders import metrics
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.saga import interventions, transitions
from orders.saga.state import OrderData, OrderLine, Saga, SagaStatus, Step
from orders.saga.transitions import Outcome

log = structlog.get_logger(__name__)


def _line(line: PricedLineV4) -> OrderLine:
    components = tuple((c.sku, c.quantity) for c in line.components or ())
    return OrderLine(
        line.sku, line.quantity, line.unit_price.amount_minor, components, line.discount_minor
    )


def order_data(msg: OrderPlaced) -> OrderData:
    """From OrderPlaced v4 (older versions arrive upcast). The saga settles in the order's
    currency: the total after discounts, with the delivery. A pickup order's parcel goes
    to its pickup point."""
    delivery = msg.delivery
    address = msg.shipping_address
    if delivery is not None and delivery.pickup_address is not None:
        address = delivery.pickup_address
    return OrderData(
        customer_id=msg.customer_id,
        lines=tuple(_line(ln) for ln in msg.lines),
        currency=msg.total.currency,
        total_minor=msg.total.amount_minor,
        address=address.model_dump(),
        payment_token=msg.payment_token,
        promotions=tuple(d.promotion_id for d in msg.discounts if d.limited),
        delivery_method=delivery.method_id if delivery is not None else None,
        carrier=delivery.carrier if delivery is not None else None,
        delivery_minor=delivery.price_minor if delivery is not None else 0,
    )


async def fire_due_timeouts(
    uow: OrdersUnitOfWork, limit: int = 100, cuts: Mapping[Step, datetime] | None = None
) -> list[str]:
    """Fire every deadline that passed (by ``cuts``, where a participant was held: see
    deadline_holds.py); each fires once (the claim and the transition commit together,
    and the transition moves or clears the deadline). Returns the order ids claimed."""
    due = await uow.sagas.due(uow.clock(), limit, cuts)
    for order_id in due:
        saga = await uow.sagas.get(order_id)
        if saga is None:
            continue
        crashpoint("orders.after_timer_claim")
        outcome = transitions.on_timeout(saga, uow.clock(), uow.policy)
        await _apply(uow, saga, outcome, kind="timeout", message_type=None, message_id=None)
        log.info("saga_timeout_fired", order_id=order_id, note=outcome.note)
    return due


async def cancel_order(uow: OrdersUnitOfWork, order_id: str, reason: str) -> Saga:
    """Raises LookupError for an unknown order and CancelRefused when too late."""
    saga = await uow.sagas.get(order_id, lock=True)
    if saga is None:
        raise LookupError(order_id)
    outcome = transitions.on_cancel(saga, uow.clock(), uow.policy, reason)
    return await _apply(uow, saga, outcome, kind="cancel", message_type=None, message_id=None)


@dataclass(frozen=True)
class Intervention:
    """An operator action's effect: the saga before, and the outcome with the saga as
    saved (its new version), so a caller can show what happened, or what would have
    when it rolls the transaction back (a dry run)."""

    before: Saga
    outcome: Outcome


async def retry_step(uow: OrdersUnitOfWork, order_id: str) -> Intervention:
    """Resend the in-flight step's command now. LookupError for an unknown order,
    ActionRefused when there is nothing to retry (as for the two below)."""
    return await _intervene(
        uow, order_id, lambda s: interventions.on_retry(s, uow.clock(), uow.policy)
    )


async def force_compensate(uow: OrdersUnitOfWork, order_id: str, reason: str) -> Intervention:
    return await _intervene(
        uow,
        order_id,
        lambda s: interventions.on_force_compensate(s, uow.clock(), uow.policy, reason),
    )


async def resolve(uow: OrdersUnitOfWork, order_id: str, note: str) -> Intervention:
    return await _intervene(uow, order_id, lambda s: interventions.on_resolve(s, uow.clock(), note))


async def _intervene(
    uow: OrdersUnitOfWork, order_id: str, decide: Callable[[Saga], Outcome]
) -> Intervention:
    """Not logged here: only the caller knows whether it commits."""
    saga = await uow.sagas.get(order_id, lock=True)
    if saga is None:
        raise LookupError(order_id)
    outcome = decide(saga)
    saved = await _apply(uow, saga, outcome, kind="admin", message_type=None, message_id=None)
    return Intervention(saga, replace(outcome, saga=saved))


async def _apply(
    uow: OrdersUnitOfWork,
    before: Saga,
    outcome: Outcome,
    *,
    kind: str,
    message_type: str | None,
    message_id: UUID | None,
) -> Saga:
    saga = outcome.saga
    metrics.observe_transition(before.status, saga.status)
    if outcome.changed:
        saga = await uow.sagas.update(outcome.saga, before.version)
        if saga.status.terminal and not before.status.terminal:
            _log_terminal(saga)
    await _emit(
        uow, before.status, outcome, kind=kind, message_type=message_type, message_id=message_id
    )
    return saga


async def _emit(
    uow: OrdersUnitOfWork,
    before: SagaStatus | None,
    outcome: Outcome,
    *,
    kind: str,
    message_type: str | None,
    message_id: UUID | None,
) -> None:
    order_id = outcome.saga.order_id
    for topic, command in outcome.commands:
        await uow.outbox.put(topic, command, correlation_id=order_id)
    for event in outcome.events:
        await uow.outbox.put(topics.ORDERS_EVENTS, event, correlation_id=order_id)
    for reply in outcome.replies:
        await uow.outbox.put(
            topics.ORDERS_INBOUND_REPLIES, reply, correlation_id=reply.reference,
            key=reply.reference,
        )  # fmt: skip
    await uow.sagas.record(
        order_id=order_id,
        at=uow.clock(),
        kind=kind,
        from_status=before,
        saga=outcome.saga,
        message_type=message_type,
        message_id=message_id,
        commands=[command.TYPE for _, command in outcome.commands],
        note=outcome.note,
    )


def _log_terminal(saga: Saga) -> None:
    if saga.status is SagaStatus.COMPENSATION_FAILED:
        # An alert: money or goods need a human (listed by `orderflow saga list`).
        log.error("saga_compensation_failed", order_id=saga.order_id, reason=saga.reason)
    else:
        log.info("saga_finished", order_id=saga.order_id, status=saga.status.value)
