"""Return use cases outside the consumer: the customer's request and cancel, the
warehouse's receipt, and the timer. Each runs in the caller's transaction (asyncpg, like
the consumer): load and lock, apply a pure transition, save with the version check, and
put its commands and event into the outbox. The replies are folded by the consumer
(``saga_batch``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from orderflow_messaging.db import Connection
from orderflow_messaging.outbox import BatchOutbox
from orders.adapters.return_store import PgReturnStore
from orders.adapters.saga_store import PgSagaStore
from orders.application.return_book import emit_return
from orders.returns import transitions
from orders.returns.policy import ReturnPolicy, assess
from orders.returns.state import ReceivedLine, ReturnCase, ReturnStatus
from orders.saga.state import Saga

log = structlog.get_logger(__name__)

_DELIVERED = """
    SELECT min(at) FROM saga_history WHERE order_id = $1 AND message_type = 'ShipmentDelivered'
"""


# Returns whose refund was decided (their received units refunded, or being refunded).
REFUNDING = frozenset(
    {ReturnStatus.RECEIVED, ReturnStatus.REFUNDED, ReturnStatus.COMPLETED, ReturnStatus.FAILED}
)


class KeyReused(Exception):
    """The idempotency key was used for a different return request of the order."""


@dataclass(frozen=True)
class ReturnRequest:
    lines: Mapping[str, int]  # SKU -> units
    reason: str

    def fingerprint(self) -> str:
        canonical = json.dumps(
            {"lines": dict(sorted(self.lines.items())), "reason": self.reason}, sort_keys=True
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Requested:
    case: ReturnCase
    new: bool


def return_id_for(order_id: str, key: str) -> str:
    """One return per (order, idempotency key): a retry finds the one it made."""
    return "R-" + hashlib.sha256(f"{order_id}\0{key}".encode()).hexdigest()[:16]


async def request_return(
    conn: Connection,
    outbox: BatchOutbox,
    order_id: str,
    key: str,
    request: ReturnRequest,
    now: datetime,
    policy: ReturnPolicy,
) -> Requested:
    """LookupError for an unknown order, InvalidRequest (policy.py) for a request no
    policy could accept, KeyReused; else the return, approved or rejected."""
    # The saga's lock first (the consumer's order too): an order's return requests are
    # decided one at a time, each seeing the others.
    saga = (await PgSagaStore(conn).load_for_update([order_id])).sagas.get(order_id)
    if saga is None:
        raise LookupError(order_id)
    store = PgReturnStore(conn)
    return_id = return_id_for(order_id, key)
    book = await store.load_for_update([return_id])
    if return_id in book.cases:
        if await store.fingerprint(return_id) != request.fingerprint():
            raise KeyReused(key)
        return Requested(book.cases[return_id], new=False)
    earlier = await store.of_order(order_id)
    delivered_at = await _delivered_at(conn, saga)
    assessment = assess(saga, delivered_at, earlier, request.lines, now, policy)
    outcome = transitions.open_return(return_id, saga, assessment, request.reason, now, policy)
    case = book.open(outcome, request.fingerprint(), now)
    emit_return(outbox, outcome, None)
    await store.save(book)
    log.info("return_requested", return_id=return_id, order_id=order_id, status=case.status.value)
    return Requested(case, new=True)


async def _delivered_at(conn: Connection, saga: Saga) -> datetime | None:
    """When the coordinator heard of the delivery: kept in the saga since returns exist,
    else (an order delivered before) from its history."""
    if saga.delivered_at is not None or not saga.facts.shipment_delivered:
        return saga.delivered_at
    at = await conn.fetchval(_DELIVERED, saga.order_id)
    return at if isinstance(at, datetime) else None


async def receive_return(
    conn: Connection,
    outbox: BatchOutbox,
    return_id: str,
    received: Sequence[ReceivedLine],
    now: datetime,
    policy: ReturnPolicy,
) -> ReturnCase:
    """LookupError for an unknown return, ReturnRefused (transitions.py). Under the
    order's saga lock (as a request), so the receipts of one order's returns are
    refunded one after the other, each continuing the lines' discount shares from the
    units the others refunded."""
    found = await PgReturnStore(conn).get(return_id)
    if found is None:
        raise LookupError(return_id)
    await PgSagaStore(conn).load_for_update([found.order_id])
    before: dict[int, int] = {}
    for other in await PgReturnStore(conn).of_order(found.order_id):
        if other.return_id != return_id and other.status in REFUNDING:
            for line, units in other.allocate(other.received):
                before[line.line_no] = before.get(line.line_no, 0) + units
    return await _change(
        conn, outbox, return_id, now, "received",
        lambda case: transitions.on_received(case, received, now, policy, before),
    )  # fmt: skip


async def cancel_return(
    conn: Connection,
    outbox: BatchOutbox,
    return_id: str,
    reason: str,
    now: datetime,
    policy: ReturnPolicy,
) -> ReturnCase:
    return await _change(
        conn, outbox, return_id, now, "cancel",
        lambda case: transitions.on_cancel(case, reason, now, policy),
    )  # fmt: skip


async def _change(
    conn: Connection,
    outbox: BatchOutbox,
    return_id: str,
    now: datetime,
    kind: str,
    decide: transitions.Decide,
) -> ReturnCase:
    store = PgReturnStore(conn)
    book = await store.load_for_update([return_id])
    case = book.cases.get(return_id)
    if case is None:
        raise LookupError(return_id)
    outcome = decide(case)
    saved = book.record(case, outcome, kind, None, now)
    emit_return(outbox, outcome, None)
    await store.save(book)
    return saved


async def fire_due_returns(
    conn: Connection, outbox: BatchOutbox, now: datetime, policy: ReturnPolicy, limit: int = 100
) -> int:
    """Every return deadline that passed: a step resent or given up, a parcel that never
    came cancelled. Claimed with SKIP LOCKED, so replicas share the work."""
    store = PgReturnStore(conn)
    due = await store.claim_due(now, limit)
    if not due:
        return 0
    book = await store.load_for_update(due)
    for return_id in due:
        case = book.cases[return_id]
        outcome = transitions.on_timeout(case, now, policy)
        book.record(case, outcome, "timeout", None, now)
        emit_return(outbox, outcome, None)
        log.info("return_timeout_fired", return_id=return_id, note=outcome.note)
    await store.save(book)
    return len(due)
