"""Deciding one order request, shared by ``POST /orders`` and the upstream door.

Pure: the caller looks up the order already placed under the request's key and, when
there is none, the catalog items the request names and the price data of its customer. A known key
answers its order again (the same request) or is refused (a different one:
``KeyReused``); an unused key gets every rule's problems at once, or a new order priced
from the catalog copy and the price data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from checkout.domain.idempotency import fingerprint
from checkout.domain.model import CatalogItem, Order, OrderDraft, OrderStatus, Problem
from checkout.domain.pricing import NO_PRICE_DATA, PriceBook
from checkout.domain.rules import assess_order


@dataclass(frozen=True)
class Placed:
    """Placed now (``new``), or earlier by a request with the same key and fingerprint."""

    order: Order
    new: bool = False


@dataclass(frozen=True)
class Rejected:
    problems: list[Problem]


@dataclass(frozen=True)
class KeyReused:
    order_id: str


PlaceOrderOutcome = Placed | Rejected | KeyReused


def answer_again(order: Order, request_fingerprint: str) -> Placed | KeyReused:
    """The answer to a request whose key already placed ``order``."""
    if order.request_fingerprint != request_fingerprint:
        return KeyReused(order.order_id)
    return Placed(order)


def place_new(
    idempotency_key: str,
    draft: OrderDraft,
    catalog: Mapping[str, CatalogItem],
    *,
    new_id: Callable[[], str],
    now: datetime,
    prices: PriceBook = NO_PRICE_DATA,
    more_problems: Sequence[Problem] = (),
) -> Placed | Rejected:
    """A request under an unused key: every rule's problems (and ``more_problems``, a
    caller's own policy) or a new order priced from ``catalog`` and ``prices`` at
    ``now``. ``new_id`` is called only for an order placed."""
    priced = assess_order(draft, catalog, prices, now)
    if isinstance(priced, list) or more_problems:
        return Rejected((priced if isinstance(priced, list) else []) + list(more_problems))
    order = Order(
        order_id=new_id(),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint(draft),
        customer_id=draft.customer_id,
        lines=priced.lines,
        currency=priced.currency,
        total_minor=priced.total_minor,
        status=OrderStatus.PLACED,
        created_at=now,
        discounts=priced.discounts,
        delivery=priced.delivery,
    )
    return Placed(order, new=True)
