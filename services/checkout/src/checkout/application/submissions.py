"""The upstream door, a batch at a time: a SubmitOrder from orders.inbound becomes an
order, or a rejection listing every reason. Either way the upstream gets an answer on
orders.inbound.replies, keyed by its reference. A CancelOrder of a reference that placed
an order becomes OrderCancellationRequested on checkout.events (after that order's
OrderPlaced, same key), which the coordinator decides and answers; one checkout can
refuse alone (not readable, no order under the reference) is answered here.

Every submission of a batch is first checked in memory (``check_submission``: the
contract, text PostgreSQL cannot store). The batch then loads, with one statement each,
the catalog copy of every SKU it names and the orders already placed under its
references; ``SubmissionBook`` decides each submission in message order (pure, no I/O;
the decision is the one ``POST /orders`` makes, plus the price policy), and the new
orders are inserted with one statement. A reference seen before, earlier in the batch
or in an earlier one, is a resend: the same submission gets its order again, a different
one is refused. Nothing is stored for a rejection, so a rejected reference may be sent
again once fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from checkout.application.announcements import order_placed
from checkout.application.ports import SubmissionStore
from checkout.domain.idempotency import fingerprint
from checkout.domain.model import (
    AddressDraft,
    CatalogItem,
    DeliveryDraft,
    LineDraft,
    Order,
    OrderDraft,
    Problem,
)
from checkout.domain.placing import KeyReused, Placed, Rejected, answer_again, place_new
from checkout.domain.pricing import NO_PRICE_DATA, PriceBook
from checkout.domain.rules import NUL_REASON, nul_problems
from checkout.entrypoints.requests import field_path
from orderflow_contracts import topics
from orderflow_contracts.checkout import OrderCancellationRequested
from orderflow_contracts.inbound import (
    CancelOrder,
    OrderCancellationRefused,
    OrderSubmissionAccepted,
    OrderSubmissionRejected,
    Reason,
    SubmitOrder,
    SubmitOrderV1,
    upcast_submit_order_v1,
)
from orderflow_messaging.clock import IdFactory
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.registry import Message
from orderflow_pricing import NoPrice

log = structlog.get_logger(__name__)

REFERENCE_REUSED = Problem("reference", "already used for a different submission")
NO_ORDER = Problem("reference", "no order was placed under this reference")


def idempotency_key(reference: str) -> str:
    """The key of a submission's order (HTTP keys are the clients' own)."""
    return f"upstream:{reference}"


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


def price_problems(
    submission: SubmitOrder, catalog: Mapping[str, CatalogItem], prices: PriceBook, at: datetime
) -> list[Problem]:
    """Price policy: a price the upstream showed its customer must be our price for that
    customer (its contract, its groups' lists, the default list or the base price)."""
    problems = []
    for index, line in enumerate(submission.lines):
        item, expected = catalog.get(line.sku), line.expected_unit_price
        if item is None or expected is None:
            continue
        try:
            ours = prices.price(item, line.quantity, expected.currency, submission.customer_id, at)
        except NoPrice:
            ours = None
        field = f"lines[{index}].expected_unit_price"
        if ours is None:
            problems.append(Problem(field, f"{line.sku} has no price in {expected.currency}"))
        elif expected.amount_minor != ours.unit_price_minor:
            price = f"{ours.unit_price_minor} {expected.currency}"
            problems.append(Problem(field, f"price of {line.sku} is {price}"))
    return problems


def draft_of(submission: SubmitOrder) -> OrderDraft:
    return OrderDraft(
        customer_id=submission.customer_id,
        lines=tuple(LineDraft(line.sku, line.quantity) for line in submission.lines),
        shipping_address=AddressDraft(**submission.shipping_address.model_dump()),
        payment_token=submission.payment_token,
        currency=submission.currency,
        coupons=tuple(submission.coupons),
        delivery=(
            DeliveryDraft(submission.delivery.method, submission.delivery.pickup_point)
            if submission.delivery is not None
            else None
        ),
    )


@dataclass(frozen=True)
class Submission:
    """One submission checked in memory: readable (``request`` and its ``draft``), or
    not (``problems``, answered without looking at anything stored)."""

    reference: str
    request: SubmitOrder | None = None
    draft: OrderDraft | None = None
    problems: tuple[Problem, ...] = ()


def check_submission(
    version: int, payload: Mapping[str, Any], upstream_reference: str
) -> Submission:
    """``upstream_reference`` (the envelope's correlation id) names a submission whose
    own reference cannot be read."""
    parsed = parse_submission(version, payload)
    if not isinstance(parsed, SubmitOrder):
        return Submission(_answerable(upstream_reference[:64]), problems=tuple(parsed))
    draft = draft_of(parsed)
    problems = nul_problems(draft)
    if "\x00" in parsed.reference:
        problems.insert(0, Problem("reference", NUL_REASON))
    if problems:
        return Submission(_answerable(parsed.reference), problems=tuple(problems))
    return Submission(parsed.reference, parsed, draft)


@dataclass(frozen=True)
class Cancellation:
    """One CancelOrder checked in memory: readable (``request``) or not (``problems``)."""

    reference: str
    request: CancelOrder | None = None
    problems: tuple[Problem, ...] = ()


def check_cancellation(payload: Mapping[str, Any], upstream_reference: str) -> Cancellation:
    try:
        parsed = CancelOrder.model_validate(payload)
    except ValidationError as exc:
        problems = tuple(Problem(field_path(e["loc"]), e["msg"]) for e in exc.errors())
        return Cancellation(_answerable(upstream_reference[:64]), problems=problems)
    nul = [Problem(f, NUL_REASON) for f in ("reference", "reason") if "\x00" in getattr(parsed, f)]
    if nul:
        return Cancellation(_answerable(parsed.reference), problems=tuple(nul))
    return Cancellation(parsed.reference, parsed)


def _answerable(reference: str) -> str:
    """A reference a reply can carry (and PostgreSQL store as its correlation id)."""
    return reference.replace("\x00", "") or "unknown"


@dataclass(frozen=True)
class Outgoing:
    topic: str
    message: Message
    correlation_id: str
    key: str | None = None


@dataclass
class SubmissionBook:
    """What a batch needs to decide its submissions, and the orders it placed."""

    catalog: dict[str, CatalogItem]
    orders: dict[str, Order]  # by idempotency key
    prices: PriceBook = NO_PRICE_DATA  # the batch's customers' price data
    placed: list[Order] = field(default_factory=list)

    def place(
        self,
        key: str,
        draft: OrderDraft,
        *,
        new_id: Callable[[], str],
        now: datetime,
        more_problems: Sequence[Problem] = (),
    ) -> Placed | KeyReused | Rejected:
        """Decide one order request under ``key`` (the decision ``POST /orders`` and the
        door share); a new order is kept for ``save`` and answers a later request with
        the same key in this book."""
        existing = self.orders.get(key)
        if existing is not None:
            return answer_again(existing, fingerprint(draft))
        outcome = place_new(
            key, draft, self.catalog,
            new_id=new_id, now=now, prices=self.prices, more_problems=more_problems,
        )  # fmt: skip
        if isinstance(outcome, Placed):
            self.orders[key] = outcome.order
            self.placed.append(outcome.order)
        return outcome

    def submit(
        self,
        submission: Submission,
        *,
        new_id: Callable[[], str],
        now: datetime,
        event_version: int,
    ) -> list[Outgoing]:
        """Decide one submission; returns what it sends: OrderPlaced (when it placed an
        order), then the reply."""
        reference = submission.reference
        request, draft = submission.request, submission.draft
        if request is None or draft is None:
            return [_reply(_rejected(reference, submission.problems))]
        policy = price_problems(request, self.catalog, self.prices, now)
        outcome = self.place(
            idempotency_key(reference), draft, new_id=new_id, now=now, more_problems=policy
        )
        match outcome:
            case Placed(order=order, new=new):
                accepted = OrderSubmissionAccepted(reference=reference, order_id=order.order_id)
                if not new:
                    return [_reply(accepted)]
                announcement = order_placed(order, draft, event_version, request.sales_channel)
                return [
                    Outgoing(topics.CHECKOUT_EVENTS, announcement, order.order_id),
                    _reply(accepted),
                ]
            case KeyReused():
                return [_reply(_rejected(reference, [REFERENCE_REUSED]))]
            case Rejected(problems=problems):
                return [_reply(_rejected(reference, problems))]

    def cancel(self, cancellation: Cancellation) -> list[Outgoing]:
        """Pass a cancellation of a placed order on to the coordinator (it answers), or
        refuse it here: unreadable, or no order under the reference."""
        reference, request = cancellation.reference, cancellation.request
        if request is None:
            return [_reply(_refused(reference, cancellation.problems))]
        order = self.orders.get(idempotency_key(reference))
        if order is None:
            return [_reply(_refused(reference, [NO_ORDER]))]
        requested = OrderCancellationRequested(
            order_id=order.order_id, reference=reference, reason=request.reason
        )
        return [Outgoing(topics.CHECKOUT_EVENTS, requested, order.order_id)]


def _reply(
    message: OrderSubmissionAccepted | OrderSubmissionRejected | OrderCancellationRefused,
) -> Outgoing:
    reference = message.reference
    return Outgoing(topics.ORDERS_INBOUND_REPLIES, message, reference, key=reference)


def _reasons(problems: Sequence[Problem]) -> list[Reason]:
    return [Reason(field=p.field, reason=p.reason) for p in problems]


def _rejected(reference: str, problems: Sequence[Problem]) -> OrderSubmissionRejected:
    return OrderSubmissionRejected(reference=reference, reasons=_reasons(problems))


def _refused(reference: str, problems: Sequence[Problem]) -> OrderCancellationRefused:
    return OrderCancellationRefused(reference=reference, reasons=_reasons(problems))


def _checked(item: Incoming[Message]) -> Submission | Cancellation:
    envelope = item.envelope
    if envelope.type == CancelOrder.TYPE:
        return check_cancellation(envelope.payload, envelope.correlation_id)
    return check_submission(envelope.version, envelope.payload, envelope.correlation_id)


async def handle_door_requests(
    store: SubmissionStore,
    batch: Batch,
    items: Sequence[Incoming[Message]],
    *,
    new_id: IdFactory,
    event_version: int,
) -> None:
    """Submissions and cancellations, folded together in message order (a reference's
    cancellation after its submission finds the order placed): check in memory, load
    once, decide in order, insert the new orders once."""
    checked = [_checked(item) for item in items]
    submitted = [c.request for c in checked if isinstance(c, Submission) and c.request]
    cancelled = [c.reference for c in checked if isinstance(c, Cancellation) and c.request]
    references = {r.reference for r in submitted} | set(cancelled)
    book = await store.load(
        sorted(idempotency_key(r) for r in references),
        sorted({line.sku for r in submitted for line in r.lines}),
        sorted({r.customer_id for r in submitted}),
    )
    now = batch.clock()

    def order_id() -> str:
        return str(new_id())

    refused = 0
    for item, request in zip(items, checked, strict=True):
        if isinstance(request, Cancellation):
            sent = book.cancel(request)
        else:
            sent = book.submit(request, new_id=order_id, now=now, event_version=event_version)
        for out in sent:
            batch.outbox.put(
                out.topic, out.message,
                correlation_id=out.correlation_id, causation=item.envelope, key=out.key,
            )  # fmt: skip
        refused += isinstance(sent[-1].message, OrderSubmissionRejected | OrderCancellationRefused)
    await store.save(book)
    log.debug(
        "door_requests_answered", requests=len(items), placed=len(book.placed),
        cancellations=len(cancelled), refused=refused,
    )  # fmt: skip
