"""Placing an order: at most once per idempotency key, announced by OrderPlaced.

The outcomes are values, not exceptions: a refused request is an answer to the client,
and the transaction simply commits nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import structlog

from checkout.application.unit_of_work import CheckoutUnitOfWork
from checkout.domain.idempotency import fingerprint
from checkout.domain.model import Order, OrderDraft, OrderStatus, Problem
from checkout.domain.rules import price_order, validate_order
from orderflow_contracts import topics
from orderflow_contracts.checkout import OrderPlaced, OrderPlacedV1
from orderflow_contracts.common import Address, Money, PricedLine, PricedLineV2
from orderflow_messaging.registry import Message

# Address and payment token never reach a log line: only ids and counts do.
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Placed:
    """Placed now, or earlier by a request with the same key and fingerprint."""

    order: Order


@dataclass(frozen=True)
class Rejected:
    problems: list[Problem]


@dataclass(frozen=True)
class KeyReused:
    order_id: str


PlaceOrderOutcome = Placed | Rejected | KeyReused


async def place_order(
    uow: CheckoutUnitOfWork,
    idempotency_key: str,
    draft: OrderDraft,
    *,
    event_version: int = 2,
    sales_channel: str | None = None,
) -> PlaceOrderOutcome:
    request_fingerprint = fingerprint(draft)
    existing = await uow.orders.by_idempotency_key(idempotency_key)
    if existing is not None:
        return _answer_again(existing, request_fingerprint)
    catalog = await uow.catalog.items(line.sku for line in draft.lines)
    problems = validate_order(draft, catalog)
    if problems:
        log.info("order_rejected", problems=len(problems), fields=[p.field for p in problems])
        return Rejected(problems)
    priced = price_order(draft, catalog)
    order = Order(
        order_id=str(uow.new_id()),
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        customer_id=draft.customer_id,
        lines=priced.lines,
        currency=priced.currency,
        total_minor=priced.total_minor,
        status=OrderStatus.PLACED,
        created_at=uow.clock(),
    )
    if not await uow.orders.add(order):
        # A concurrent request with this key committed first; answer as a retry would be.
        winner = await uow.orders.by_idempotency_key(idempotency_key)
        if winner is None:
            raise RuntimeError("idempotency key taken but its order is not visible; retry")
        return _answer_again(winner, request_fingerprint)
    await uow.outbox.put(
        topics.CHECKOUT_EVENTS,
        _order_placed(order, draft, event_version, sales_channel),
        correlation_id=order.order_id,
    )
    log.info(
        "order_placed",
        order_id=order.order_id,
        lines=len(order.lines),
        total_minor=order.total_minor,
        currency=order.currency,
    )
    return Placed(order)


def _answer_again(order: Order, request_fingerprint: str) -> PlaceOrderOutcome:
    if order.request_fingerprint != request_fingerprint:
        log.info("idempotency_key_reused", order_id=order.order_id)
        return KeyReused(order.order_id)
    log.info("order_request_replayed", order_id=order.order_id)
    return Placed(order)


def _order_placed(
    order: Order, draft: OrderDraft, version: int, sales_channel: str | None
) -> Message:
    address = Address(**asdict(draft.shipping_address))
    if version == 1:
        return OrderPlacedV1(
            order_id=order.order_id,
            customer_id=order.customer_id,
            lines=[
                PricedLine(sku=ln.sku, quantity=ln.quantity, unit_price_minor=ln.unit_price_minor)
                for ln in order.lines
            ],
            currency=order.currency,
            total_minor=order.total_minor,
            shipping_address=address,
            payment_token=draft.payment_token,
            placed_at=order.created_at,
        )
    return OrderPlaced(
        order_id=order.order_id,
        customer_id=order.customer_id,
        lines=[
            PricedLineV2(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=Money(amount_minor=ln.unit_price_minor, currency=order.currency),
            )
            for ln in order.lines
        ],
        total=Money(amount_minor=order.total_minor, currency=order.currency),
        shipping_address=address,
        payment_token=draft.payment_token,
        placed_at=order.created_at,
        sales_channel=sales_channel,
    )
