"""Placing an order over HTTP: at most once per idempotency key, announced by
OrderPlaced. (The upstream door decides the same way, a batch at a time:
``checkout.application.submissions``.)

The outcomes are values, not exceptions: a refused request is an answer to the client,
and the transaction simply commits nothing.
"""

from __future__ import annotations

import structlog

from checkout.application.announcements import order_placed
from checkout.application.unit_of_work import CheckoutUnitOfWork
from checkout.domain.idempotency import fingerprint
from checkout.domain.model import OrderDraft
from checkout.domain.placing import (
    KeyReused,
    Placed,
    PlaceOrderOutcome,
    Rejected,
    answer_again,
    place_new,
)
from orderflow_contracts import topics

__all__ = ["KeyReused", "PlaceOrderOutcome", "Placed", "Rejected", "place_order"]

# Address and payment token never reach a log line: only ids and counts do.
log = structlog.get_logger(__name__)


async def place_order(
    uow: CheckoutUnitOfWork,
    idempotency_key: str,
    draft: OrderDraft,
    *,
    event_version: int = 2,
) -> PlaceOrderOutcome:
    existing = await uow.orders.by_idempotency_key(idempotency_key)
    if existing is not None:
        return _answered_again(answer_again(existing, fingerprint(draft)))
    catalog = await uow.catalog.items(line.sku for line in draft.lines)
    outcome = place_new(
        idempotency_key, draft, catalog, new_id=lambda: str(uow.new_id()), now=uow.clock()
    )
    if isinstance(outcome, Rejected):
        problems = outcome.problems
        log.info("order_rejected", problems=len(problems), fields=[p.field for p in problems])
        return outcome
    order = outcome.order
    if not await uow.orders.add(order):
        # A concurrent request with this key committed first; answer as a retry would be.
        winner = await uow.orders.by_idempotency_key(idempotency_key)
        if winner is None:
            raise RuntimeError("idempotency key taken but its order is not visible; retry")
        return _answered_again(answer_again(winner, fingerprint(draft)))
    await uow.outbox.put(
        topics.CHECKOUT_EVENTS,
        order_placed(order, draft, event_version),
        correlation_id=order.order_id,
    )
    log.info(
        "order_placed",
        order_id=order.order_id,
        lines=len(order.lines),
        total_minor=order.total_minor,
        currency=order.currency,
    )
    return outcome


def _answered_again(outcome: Placed | KeyReused) -> Placed | KeyReused:
    if isinstance(outcome, KeyReused):
        log.info("idempotency_key_reused", order_id=outcome.order_id)
    else:
        log.info("order_request_replayed", order_id=outcome.order.order_id)
    return outcome
