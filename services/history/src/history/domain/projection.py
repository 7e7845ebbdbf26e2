"""The order-history projection: facts about an order folded into one row.

``apply`` is the whole projection. The live service folds each consumed batch with it
(``fold``, in message order) and ``orderflow replay projection order-history`` runs the
very same function over a topic range, so a rebuilt table equals the live one.

The three source topics are independent: nothing orders a shipping event after the
orders event of the same order, or an orders event after the OrderPlaced. So ``apply``
commutes: folding the same facts in any order gives the same row.
- A status only gives way to one further along (placed < confirmed < completed < the
  endings); among the endings (a completed order may still be cancelled, an operator may
  resolve a failed compensation) the later ``occurred_at`` wins. A stale or repeated fact
  never moves the status back.
- Fulfilment only moves forward (none < dispatched < delivered).
- The order's own data comes from OrderPlaced, whenever it arrives; until then it is None.
- ``updated_at`` is the newest ``occurred_at`` seen, ``events_applied`` counts every fact
  (stale ones included), so neither depends on arrival order.
Exactly-once is the caller's job (the inbox live, a message-id set in a replay).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum


class Status(StrEnum):
    PLACED = "placed"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    COMPENSATION_FAILED = "compensation_failed"


class Fulfilment(StrEnum):
    NONE = "none"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"


_STATUS_RANK = {
    Status.PLACED: 0,
    Status.CONFIRMED: 1,
    Status.COMPLETED: 2,
    Status.REJECTED: 3,
    Status.CANCELLED: 3,
    Status.COMPENSATION_FAILED: 3,
}
_FULFILMENT_RANK = {Fulfilment.NONE: 0, Fulfilment.DISPATCHED: 1, Fulfilment.DELIVERED: 2}
# A status implied by another fact (no OrderPlaced seen yet) loses to any dated one.
_UNDATED = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    unit_price_minor: int
    currency: str
    # Which price list or rule priced it (OrderPlaced v3; "base": the catalog's price).
    price_source: str = "base"
    price_rule: str | None = None
    # Taken off the line by promotions (OrderPlaced v4), and which.
    discount_minor: int = 0
    promotions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """How the order is delivered and what that costs (part of its total; OrderPlaced
    v4): the method, its kind (home, or pickup at ``pickup_point``), the carrier."""

    method_id: str
    kind: str
    carrier: str
    price_minor: int
    pickup_point: str | None = None


@dataclass(frozen=True)
class Placed:
    order_id: str
    occurred_at: datetime
    customer_id: str
    placed_at: datetime
    total_minor: int
    currency: str
    lines: tuple[Line, ...]
    delivery: Delivery | None = None


@dataclass(frozen=True)
class StatusReached:
    order_id: str
    occurred_at: datetime
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class ShipmentProgressed:
    order_id: str
    occurred_at: datetime
    fulfilment: Fulfilment


Fact = Placed | StatusReached | ShipmentProgressed


@dataclass(frozen=True)
class OrderHistory:
    order_id: str
    status: Status
    # When the status was reached; None while it is only implied (no dated status yet).
    status_at: datetime | None
    fulfilment: Fulfilment
    updated_at: datetime
    events_applied: int
    reason: str | None = None
    customer_id: str | None = None
    placed_at: datetime | None = None
    total_minor: int | None = None
    currency: str | None = None
    lines: tuple[Line, ...] | None = None
    delivery: Delivery | None = None


def blank(order_id: str, at: datetime) -> OrderHistory:
    """The row of an order before any fact: the first fact may be any of them."""
    return OrderHistory(order_id, Status.PLACED, None, Fulfilment.NONE, at, 0)


def apply(current: OrderHistory | None, fact: Fact) -> OrderHistory:
    """The row after ``fact``; commutative in the facts (see the module docstring)."""
    row = current if current is not None else blank(fact.order_id, fact.occurred_at)
    if row.order_id != fact.order_id:
        raise ValueError(f"fact of order {fact.order_id} applied to order {row.order_id}")
    row = replace(
        row,
        updated_at=max(row.updated_at, fact.occurred_at),
        events_applied=row.events_applied + 1,
    )
    if isinstance(fact, Placed):
        return _placed(row, fact)
    if isinstance(fact, StatusReached):
        return _status(row, fact.status, fact.occurred_at, fact.reason)
    if _FULFILMENT_RANK[fact.fulfilment] > _FULFILMENT_RANK[row.fulfilment]:
        return replace(row, fulfilment=fact.fulfilment)
    return row


def fold(
    facts: Iterable[Fact], rows: dict[str, OrderHistory] | None = None
) -> dict[str, OrderHistory]:
    """Apply ``facts`` in turn to ``rows`` (a fresh projection when None)."""
    result = dict(rows or {})
    for fact in facts:
        result[fact.order_id] = apply(result.get(fact.order_id), fact)
    return result


def _placed(row: OrderHistory, fact: Placed) -> OrderHistory:
    # An order is placed once; should two differing OrderPlaced ever exist, the first
    # placement (earliest placed_at) wins in every arrival order.
    if row.placed_at is None or fact.placed_at < row.placed_at:
        row = replace(
            row,
            customer_id=fact.customer_id,
            placed_at=fact.placed_at,
            total_minor=fact.total_minor,
            currency=fact.currency,
            lines=fact.lines,
            delivery=fact.delivery,
        )
    return _status(row, Status.PLACED, fact.occurred_at, None)


def _status(row: OrderHistory, status: Status, at: datetime, reason: str | None) -> OrderHistory:
    if _status_key(status, at, reason) > _status_key(row.status, row.status_at, row.reason):
        return replace(row, status=status, status_at=at, reason=reason)
    return row


def _status_key(
    status: Status, at: datetime | None, reason: str | None
) -> tuple[int, datetime, str, str]:
    # Status name and reason only break exact ties, so that the result stays
    # independent of arrival order even then.
    return (_STATUS_RANK[status], at or _UNDATED, status.value, reason or "")
