"""``POST /orders`` a group at a time (group commit).

Requests that arrive while a group's transaction runs wait for the next one, so under
load a transaction carries many of them, and when requests are few each waits for none.
A group is one asyncpg transaction shaped like the upstream door's batch
(``checkout.application.submissions``): the orders already placed under its keys and the
catalog copy of its SKUs are loaded with one statement each, every request is decided
in arrival order by the same ``SubmissionBook.place`` (a key used twice in a group is
answered as a retry would be), the new orders are inserted with one statement and their
OrderPlaced rows with another; only after the commit does any request get its answer.

When a group's transaction fails, each of its requests is tried alone, so one request
cannot fail another; a request that fails alone because another checkout process placed
its key meanwhile is tried once more (it then finds that order), and any other failure
is its own (the client gets a 5xx and may retry with the same key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from opentelemetry.context import Context
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.batch_store import ConcurrentSubmission, PgSubmissionStore
from checkout.application.announcements import order_placed
from checkout.application.unit_of_work import PRODUCER
from checkout.domain.model import OrderDraft
from checkout.domain.placing import KeyReused, Placed, PlaceOrderOutcome, Rejected
from orderflow_contracts import topics
from orderflow_messaging import tracing
from orderflow_messaging.clock import Clock, IdFactory, new_message_id
from orderflow_messaging.db import hot_pool
from orderflow_messaging.grouping import GroupCommit
from orderflow_messaging.outbox import BatchOutbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Request:
    key: str
    draft: OrderDraft
    # The request's trace context: the group commits in another task.
    trace_context: Context | None = None


class OrderDesk:
    """Takes order requests and answers each once its group committed."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        new_id: IdFactory,
        *,
        event_version: int = 2,
        max_group: int = 200,
    ) -> None:
        self._pool = hot_pool(engine)
        self._clock = clock
        self._new_id = new_id
        self._event_version = event_version
        self._groups: GroupCommit[_Request, PlaceOrderOutcome] = GroupCommit(
            "checkout-orders", self._transaction, run_one=self._alone, max_group=max_group
        )

    async def place(self, key: str, draft: OrderDraft) -> PlaceOrderOutcome:
        """Place (or answer again) the order of ``key``; returns after the commit."""
        return await self._groups.submit(_Request(key, draft, tracing.capture()))

    async def _alone(self, request: _Request) -> PlaceOrderOutcome:
        try:
            (outcome,) = await self._transaction([request])
        except ConcurrentSubmission:
            # Another checkout process placed this key meanwhile: now it is visible.
            (outcome,) = await self._transaction([request])
        return outcome

    async def _transaction(self, group: Sequence[_Request]) -> list[PlaceOrderOutcome]:
        pool = await self._pool.pool()
        async with pool.acquire() as conn, conn.transaction():
            store = PgSubmissionStore(conn)
            book = await store.load(
                sorted({r.key for r in group}),
                sorted({line.sku for r in group for line in r.draft.lines}),
                sorted({r.draft.customer_id for r in group}),
            )
            now = self._clock()
            outbox = BatchOutbox(producer=PRODUCER, clock=self._clock, new_id=new_message_id)
            outcomes: list[PlaceOrderOutcome] = []
            for request in group:
                outcome = book.place(
                    request.key, request.draft, new_id=lambda: str(self._new_id()), now=now
                )
                if isinstance(outcome, Placed) and outcome.new:
                    order = outcome.order
                    outbox.put(
                        topics.CHECKOUT_EVENTS,
                        order_placed(order, request.draft, self._event_version),
                        correlation_id=order.order_id,
                        trace_context=request.trace_context,
                    )
                outcomes.append(outcome)
            await store.save(book)
            await outbox.flush(conn)
        for outcome in outcomes:
            _log(outcome)
        return outcomes


def _log(outcome: PlaceOrderOutcome) -> None:
    """One line per request, as an operator expects of an order API: ids and counts,
    never the address or the payment token."""
    match outcome:
        case Placed(order=order, new=True):
            log.info(
                "order_placed",
                order_id=order.order_id,
                lines=len(order.lines),
                total_minor=order.total_minor,
                currency=order.currency,
            )
        case Placed(order=order):
            log.info("order_request_replayed", order_id=order.order_id)
        case KeyReused(order_id=order_id):
            log.info("idempotency_key_reused", order_id=order_id)
        case Rejected(problems=problems):
            log.info("order_rejected", problems=len(problems), fields=[p.field for p in problems])
