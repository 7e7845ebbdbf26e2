"""History use case: apply one fact to its order's row, in the consumer's transaction
(with the inbox row that makes a redelivery a no-op)."""

from __future__ import annotations

import structlog

from history.application.unit_of_work import HistoryUnitOfWork
from history.domain.projection import Fact, OrderHistory, apply, blank

log = structlog.get_logger(__name__)


async def record_fact(uow: HistoryUnitOfWork, fact: Fact) -> OrderHistory:
    # Insert-if-missing, then lock: two replicas may hold partitions of different topics
    # and see facts of one order at the same time; the row lock serialises them.
    await uow.orders.add_if_missing(blank(fact.order_id, fact.occurred_at))
    current = await uow.orders.get(fact.order_id, for_update=True)
    updated = apply(current, fact)
    await uow.orders.save(updated)
    log.info(
        "order_history_updated",
        order_id=fact.order_id,
        fact=type(fact).__name__,
        status=updated.status.value,
        fulfilment=updated.fulfilment.value,
    )
    return updated
