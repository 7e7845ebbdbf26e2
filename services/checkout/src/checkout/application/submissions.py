"""The upstream door: a SubmitOrder from orders.inbound becomes an order, or a
rejection listing every reason. Either way the upstream gets an answer on
orders.inbound.replies, keyed by its reference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import ValidationError

from checkout.application import orders
from checkout.application.unit_of_work import CheckoutUnitOfWork
from checkout.domain.model import AddressDraft, CatalogItem, LineDraft, OrderDraft, Problem
from checkout.entrypoints.requests import field_path
from orderflow_contracts import topics
from orderflow_contracts.inbound import (
    OrderSubmissionAccepted,
    OrderSubmissionRejected,
    Reason,
    SubmitOrder,
    SubmitOrderV1,
    upcast_submit_order_v1,
)
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)


def parse_submission(version: int, payload: Mapping[str, Any]) -> SubmitOrder | list[Problem]:
    """The newest-version submission, or every contract violation in it."""
    try:
        if version == 1:
            v1 = SubmitOrderV1.model_validate(payload)
            return SubmitOrder.model_validate(upcast_submit_order_v1(v1.model_dump(mode="json")))
        return SubmitOrder.model_validate(payload)
    except ValidationError as exc:
        # Messages only, never the input: it may hold a token or an address.
        return [Problem(field_path(e["loc"]), e["msg"]) for e in exc.errors()]


def price_problems(submission: SubmitOrder, catalog: Mapping[str, CatalogItem]) -> list[Problem]:
    """Price policy: a price the upstream showed its customer must be our price."""
    problems = []
    for index, line in enumerate(submission.lines):
        item, expected = catalog.get(line.sku), line.expected_unit_price
        if item is None or expected is None:
            continue
        if (expected.amount_minor, expected.currency) != (item.price_minor, item.currency):
            problems.append(
                Problem(
                    f"lines[{index}].expected_unit_price",
                    f"price of {line.sku} is {item.price_minor} {item.currency}",
                )
            )
    return problems


def _draft(submission: SubmitOrder) -> OrderDraft:
    return OrderDraft(
        customer_id=submission.customer_id,
        lines=tuple(LineDraft(line.sku, line.quantity) for line in submission.lines),
        shipping_address=AddressDraft(**submission.shipping_address.model_dump()),
        payment_token=submission.payment_token,
        currency=submission.currency,
    )


async def submit_order(
    uow: CheckoutUnitOfWork,
    version: int,
    payload: Mapping[str, Any],
    upstream_reference: str,
    *,
    event_version: int = 2,
) -> Message:
    """Place or refuse; the reply is in the outbox and returned."""
    parsed = parse_submission(version, payload)
    reference = parsed.reference if isinstance(parsed, SubmitOrder) else upstream_reference[:64]
    reply = await _decide(uow, parsed, reference, event_version)
    await uow.outbox.put(
        topics.ORDERS_INBOUND_REPLIES, reply, correlation_id=reference, key=reference
    )
    log.info("order_submission_answered", reference=reference, answer=reply.TYPE)
    return reply


async def _decide(
    uow: CheckoutUnitOfWork,
    parsed: SubmitOrder | list[Problem],
    reference: str,
    event_version: int,
) -> Message:
    if not isinstance(parsed, SubmitOrder):
        return _rejected(reference, parsed)
    catalog = await uow.catalog.items(line.sku for line in parsed.lines)
    problems = price_problems(parsed, catalog)
    if problems:
        return _rejected(reference, problems)
    outcome = await orders.place_order(
        uow,
        f"upstream:{reference}",
        _draft(parsed),
        event_version=event_version,
        sales_channel=parsed.sales_channel,
    )
    if isinstance(outcome, orders.Placed):
        return OrderSubmissionAccepted(reference=reference, order_id=outcome.order.order_id)
    if isinstance(outcome, orders.KeyReused):
        return _rejected(
            reference, [Problem("reference", "already used for a different submission")]
        )
    return _rejected(reference, outcome.problems)


def _rejected(reference: str, problems: list[Problem]) -> OrderSubmissionRejected:
    return OrderSubmissionRejected(
        reference=reference or "unknown",
        reasons=[Reason(field=p.field, reason=p.reason) for p in problems],
    )
