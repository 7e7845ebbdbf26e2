"""Pure transitions of a return: (state, request | reply | receipt | cancel | timeout,
now, policy) -> new state + commands + its ReturnUpdated event.

Replies a return is not waiting for are duplicates or late, and are ignored: a label
issued after the return began to cancel is cancelled by the CancelReturnLabel already
sent (shipping answers a cancel of any label, and refuses a create after a cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from orderflow_contracts import topics
from orderflow_contracts.common import Address, StockLine
from orderflow_contracts.inventory import RestockReturn, ReturnedLine, ReturnRestocked
from orderflow_contracts.orders import ReturnUpdated
from orderflow_contracts.payment import InvoiceLine, PaymentRefunded, RefundPayment
from orderflow_contracts.shipping import (
    CancelReturnLabel,
    CreateReturnLabel,
    ReturnLabelCancelled,
    ReturnLabelCreated,
    ReturnLabelRefused,
)
from orderflow_messaging.registry import Message
from orders.returns.policy import Assessment, Problem, ReturnPolicy
from orders.returns.state import (
    DAMAGED,
    SELLABLE,
    ReceivedLine,
    ReturnCase,
    ReturnStatus,
)
from orders.saga.commands import Command
from orders.saga.state import Saga

R = ReturnStatus


@dataclass(frozen=True)
class ReturnOutcome:
    case: ReturnCase
    commands: tuple[Command, ...] = ()
    events: tuple[Message, ...] = ()
    note: str = ""
    changed: bool = True


Decide = Callable[[ReturnCase], ReturnOutcome]
MAX_LINES = 100  # a command's lines at most (the contracts')


class ReturnRefused(Exception):
    """The request cannot be applied to the return as it is (the reason is for the
    caller; ``problems`` names the fields of an invalid receipt)."""

    def __init__(self, reason: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(reason)
        self.problems = list(problems)


def open_return(
    return_id: str,
    saga: Saga,
    assessment: Assessment,
    reason: str,
    now: datetime,
    policy: ReturnPolicy,
) -> ReturnOutcome:
    case = ReturnCase(
        return_id, saga.order_id, saga.order.customer_id, saga.order.currency,
        dict(saga.order.address), saga.order.carrier, assessment.lines, R.APPROVED, reason, now,
    )  # fmt: skip
    if not assessment.approved:
        refused = case.evolve(status=R.REJECTED, outcome="; ".join(assessment.refusals)[:200])
        return _moved(refused, note=f"rejected: {refused.outcome}")
    return _step(case, R.APPROVED, now, policy, note="approved")


def on_reply(
    case: ReturnCase, reply: Message, now: datetime, policy: ReturnPolicy
) -> ReturnOutcome:
    match case.status, reply:
        case R.APPROVED, ReturnLabelCreated():
            issued = case.evolve(
                status=R.LABEL_ISSUED, tracking_number=reply.tracking_number, attempt=0,
                deadline=now + policy.receive_within,
            )  # fmt: skip
            return _moved(issued, note=reply.TYPE)
        case R.APPROVED, ReturnLabelRefused():
            return _end(case, R.CANCELLED, f"no return label: {reply.reason}", reply.TYPE)
        case R.CANCELLING, ReturnLabelCancelled():
            return _end(case, R.CANCELLED, case.outcome or "cancelled", reply.TYPE)
        case R.RECEIVED, PaymentRefunded():
            return _step(case, R.REFUNDED, now, policy, note=reply.TYPE)
        case R.REFUNDED, ReturnRestocked():
            return _end(case, R.COMPLETED, None, reply.TYPE)
    return ReturnOutcome(case, note=f"ignored {reply.TYPE} (duplicate or stale)", changed=False)


def on_timeout(case: ReturnCase, now: datetime, policy: ReturnPolicy) -> ReturnOutcome:
    if case.deadline is None or now < case.deadline or case.status.terminal:
        return ReturnOutcome(case, note="not due", changed=False)
    if case.status is R.LABEL_ISSUED:
        ended = case.deadline.date().isoformat()
        return _cancel(case, f"the parcel did not arrive by {ended}", now, policy)
    if case.attempt <= policy.step_retries:
        again = case.evolve(attempt=case.attempt + 1, deadline=now + policy.step_timeout)
        note = f"{case.status.value} timed out; resent (attempt {again.attempt})"
        return ReturnOutcome(again, (command_for(again),), note=note)
    if case.status is R.APPROVED:
        # The label's fate is unknown: cancel it (shipping answers a cancel of any label).
        return _cancel(case, "no return label: the carrier did not answer", now, policy)
    return _end(case, R.FAILED, f"{case.status.value}: out of retries", "timeout")


def on_cancel(case: ReturnCase, reason: str, now: datetime, policy: ReturnPolicy) -> ReturnOutcome:
    """The customer's cancel: only before the parcel arrived."""
    if case.status in (R.APPROVED, R.LABEL_ISSUED):
        return _cancel(case, reason, now, policy)
    if case.status in (R.CANCELLING, R.CANCELLED):
        return ReturnOutcome(case, note="cancelled already", changed=False)
    raise ReturnRefused(f"the return is {case.status.value}: it can no longer be cancelled")


def on_received(
    case: ReturnCase,
    received: Sequence[ReceivedLine],
    now: datetime,
    policy: ReturnPolicy,
    before: Mapping[int, int] | None = None,
) -> ReturnOutcome:
    """The warehouse's receipt: refund what came back (per line, as charged; ``before``:
    units per order line that other returns refunded already)."""
    if case.status is not R.LABEL_ISSUED:
        if case.received and sorted(case.received, key=_key) == sorted(received, key=_key):
            return ReturnOutcome(case, note="received already", changed=False)
        raise ReturnRefused(f"the return is {case.status.value}: no parcel is expected")
    _check_receipt(case, received)
    got = case.evolve(received=tuple(received), before=tuple(sorted((before or {}).items())))
    refund = sum(amount for _, _, amount in got.refunds())
    got = got.evolve(refund_minor=refund)
    if len(_returned(got)) > MAX_LINES:
        raise ReturnRefused(f"more than {MAX_LINES} stock lines to take back: split the receipt")
    return _step(got, R.RECEIVED, now, policy, note=f"received; refund {refund}")


def _check_receipt(case: ReturnCase, received: Sequence[ReceivedLine]) -> None:
    expected: dict[str, int] = {}
    for line in case.lines:
        expected[line.sku] = expected.get(line.sku, 0) + line.quantity
    got: dict[str, int] = {}
    problems = []
    for n, item in enumerate(received):
        if item.sku not in expected:
            problems.append(Problem(f"lines[{n}].sku", f"{item.sku} is not in the return"))
        if item.condition not in (SELLABLE, DAMAGED):
            problems.append(Problem(f"lines[{n}].condition", "sellable or damaged"))
        got[item.sku] = got.get(item.sku, 0) + item.quantity
    for sku, quantity in got.items():
        if sku in expected and quantity > expected[sku]:
            problems.append(
                Problem("lines", f"{quantity} {sku} received, {expected[sku]} returned")
            )
    if problems or not received:
        raise ReturnRefused("the receipt does not match the return", problems)


def command_for(case: ReturnCase) -> Command:
    """The command of the return's current step (a resend is the same command)."""
    ids = {"return_id": case.return_id, "order_id": case.order_id}
    match case.status:
        case R.APPROVED:
            return topics.SHIPPING_COMMANDS, CreateReturnLabel(
                **ids, address=Address.model_validate(case.address),
                lines=_stock_lines(case), carrier=case.carrier,
            )  # fmt: skip
        case R.RECEIVED:
            return topics.PAYMENT_COMMANDS, RefundPayment(
                order_id=case.order_id, amount_minor=case.refund_minor, currency=case.currency,
                idempotency_key=f"{case.order_id}:return:{case.return_id}",
                return_id=case.return_id, lines=_credit_lines(case),
            )  # fmt: skip
        case R.REFUNDED:
            return topics.INVENTORY_COMMANDS, RestockReturn(**ids, lines=_returned(case))
        case R.CANCELLING:
            reason = case.outcome or "cancelled"
            return topics.SHIPPING_COMMANDS, CancelReturnLabel(**ids, reason=reason)
    raise ValueError(f"a {case.status.value} return has no command")


def event_of(case: ReturnCase) -> ReturnUpdated:
    merged: dict[str, int] = {}
    for sku, quantity in [(r.sku, r.quantity) for r in case.received] or [
        (line.sku, line.quantity) for line in case.lines
    ]:
        merged[sku] = merged.get(sku, 0) + quantity
    reached_refund = case.status in (R.REFUNDED, R.COMPLETED)
    return ReturnUpdated(
        return_id=case.return_id, order_id=case.order_id, status=case.status.value,
        lines=[StockLine(sku=s, quantity=q) for s, q in merged.items()],
        reason=case.outcome, refund_minor=case.refund_minor if reached_refund else None,
        tracking_number=case.tracking_number,
    )  # fmt: skip


def _stock_lines(case: ReturnCase) -> list[StockLine]:
    wanted: dict[str, int] = {}
    for line in case.lines:
        for sku, quantity in line.stock(line.quantity):
            wanted[sku] = wanted.get(sku, 0) + quantity
    return [StockLine(sku=s, quantity=q) for s, q in wanted.items()]


def _credit_lines(case: ReturnCase) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            sku=line.sku,
            quantity=units,
            unit_price_minor=line.unit_price_minor,
            discount_minor=units * line.unit_price_minor - refund,
        )
        for line, units, refund in case.refunds()
    ]


def _returned(case: ReturnCase) -> list[ReturnedLine]:
    """Each received line's stock (a bundle's: its components), restocked when sellable,
    written off when damaged; one line per SKU and disposition."""
    merged: dict[tuple[str, str], int] = {}
    for got in case.received:
        line = case.line(got.sku)
        assert line is not None, "a receipt only names the return's SKUs"
        disposition = "restock" if got.condition == SELLABLE else "write_off"
        for sku, quantity in line.stock(got.quantity):
            merged[(sku, disposition)] = merged.get((sku, disposition), 0) + quantity
    return [
        ReturnedLine.model_validate({"sku": s, "quantity": q, "disposition": d})
        for (s, d), q in merged.items()
    ]


def _key(line: ReceivedLine) -> tuple[str, str, int]:
    return (line.sku, line.condition, line.quantity)


def _step(
    case: ReturnCase, status: ReturnStatus, now: datetime, policy: ReturnPolicy, note: str
) -> ReturnOutcome:
    moved = case.evolve(status=status, attempt=1, deadline=now + policy.step_timeout)
    return ReturnOutcome(moved, (command_for(moved),), (event_of(moved),), note)


def _cancel(case: ReturnCase, reason: str, now: datetime, policy: ReturnPolicy) -> ReturnOutcome:
    cancelling = case.evolve(outcome=reason[:200])
    return _step(cancelling, R.CANCELLING, now, policy, note=f"cancelling: {reason}")


def _end(case: ReturnCase, status: ReturnStatus, outcome: str | None, note: str) -> ReturnOutcome:
    shown = outcome[:200] if outcome else None  # (a participant's reason may be long)
    done = case.evolve(status=status, attempt=0, deadline=None, outcome=shown)
    return _moved(done, note=note)


def _moved(case: ReturnCase, note: str) -> ReturnOutcome:
    return ReturnOutcome(case, events=(event_of(case),), note=note)
