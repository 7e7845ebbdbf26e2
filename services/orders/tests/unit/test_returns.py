"""Returns, pure: the policy's checks, the refund per line (never more than charged),
each transition with its command and event, and replies folded by the consumer batch."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from orderflow_contracts.inventory import RestockReturn, ReturnRestocked
from orderflow_contracts.orders import ReturnUpdated
from orderflow_contracts.payment import PaymentRefunded, RefundPayment
from orderflow_contracts.shipping import (
    CancelReturnLabel,
    CreateReturnLabel,
    ReturnLabelCancelled,
    ReturnLabelCreated,
    ReturnLabelRefused,
)
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch
from orderflow_messaging.outbox import BatchOutbox
from orderflow_testing.batches import incoming
from orders.adapters.return_store import MemoryReturnStore
from orders.adapters.saga_store import MemorySagaStore
from orders.application.return_book import ReturnBook
from orders.application.saga_batch import handle_saga_messages
from orders.returns.policy import InvalidRequest, ReturnPolicy, assess
from orders.returns.state import DAMAGED, SELLABLE, ReceivedLine, ReturnCase, ReturnStatus
from orders.returns.transitions import (
    ReturnOutcome,
    ReturnRefused,
    on_cancel,
    on_received,
    on_reply,
    on_timeout,
    open_return,
)
from orders.saga.state import Facts, OrderLine, Saga, SagaStatus

from .saga_builders import OID, ORDER, POLICY, T0

RETURNS = ReturnPolicy(
    window=timedelta(days=30), receive_within=timedelta(days=14),
    step_timeout=timedelta(seconds=10), step_retries=2,
)  # fmt: skip
RID = "R-00000000000000b1"
DELIVERED = T0 + timedelta(days=2)
NOW = T0 + timedelta(days=5)
# Three lines: a tee (2 at 19.90, 3.00 off the line), a mug, a bundle of two components.
LINES = (
    OrderLine("TEE-BLK-M", 2, 1990, discount_minor=300),
    OrderLine("MUG-ENAMEL", 1, 1250),
    OrderLine("GIFT-SET", 1, 3000, components=(("MUG-ENAMEL", 1), ("CAP-NVY", 2))),
    OrderLine("SOCKS-3PK", 1, 900),
)
DONE = Saga(
    OID, replace(ORDER, lines=LINES), SagaStatus.COMPLETED, None, 0, None,
    facts=Facts(stock_reserved=True, payment_authorized=True, payment_captured=True,
                shipment_created=True, shipment_dispatched=True, shipment_delivered=True,
                stock_committed=True),
    delivered_at=DELIVERED,
)  # fmt: skip


def approved(**units: int) -> ReturnCase:
    assessment = assess(DONE, DELIVERED, [], units, NOW, RETURNS)
    assert assessment.approved, assessment.refusals
    return open_return(RID, DONE, assessment, "too small", NOW, RETURNS).case


def commands_of(outcome: ReturnOutcome) -> list[Any]:
    return [command for _, command in outcome.commands]


def test_the_policy_rejects_with_every_reason_and_refuses_what_no_policy_could_accept() -> None:
    late = DELIVERED + RETURNS.window + timedelta(seconds=1)
    refused = assess(DONE, DELIVERED, [], {"SOCKS-3PK": 1, "MUG-ENAMEL": 1}, late, RETURNS)
    assert refused.refusals == [
        "the return window of 30 days ended on 2026-06-02",
        "SOCKS-3PK cannot be returned",
    ]
    not_yet = assess(replace(DONE, delivered_at=None), None, [], {"MUG-ENAMEL": 1}, NOW, RETURNS)
    assert not_yet.refusals == ["the order has not been delivered yet"]
    cancelled = replace(DONE, status=SagaStatus.CANCELLED)
    assert assess(cancelled, DELIVERED, [], {"MUG-ENAMEL": 1}, NOW, RETURNS).refusals == [
        "the order is cancelled: only a completed order"
    ]
    with pytest.raises(InvalidRequest) as invalid:
        assess(DONE, DELIVERED, [], {"HAT": 1, "MUG-ENAMEL": 2}, NOW, RETURNS)
    assert [(p.field, p.reason) for p in invalid.value.problems] == [
        ("lines.HAT", "not on the order"), ("lines.MUG-ENAMEL", "2 asked, 1 left to return"),
    ]  # fmt: skip


def test_units_held_by_earlier_returns_cannot_be_returned_again_unless_those_were_cancelled() -> (
    None
):
    first = approved(**{"TEE-BLK-M": 1})
    with pytest.raises(InvalidRequest, match="2 asked, 1 left"):
        assess(DONE, DELIVERED, [first], {"TEE-BLK-M": 2}, NOW, RETURNS)
    dropped = first.evolve(status=ReturnStatus.CANCELLED)
    assert assess(DONE, DELIVERED, [dropped], {"TEE-BLK-M": 2}, NOW, RETURNS).approved


def test_units_a_parcel_did_not_bring_may_be_returned_again() -> None:
    asked = approved(**{"TEE-BLK-M": 2})
    got = asked.evolve(status=ReturnStatus.COMPLETED,
                       received=(ReceivedLine("TEE-BLK-M", 1, SELLABLE),))  # fmt: skip
    assert assess(DONE, DELIVERED, [got], {"TEE-BLK-M": 1}, NOW, RETURNS).approved
    with pytest.raises(InvalidRequest, match="2 asked, 1 left"):
        assess(DONE, DELIVERED, [got], {"TEE-BLK-M": 2}, NOW, RETURNS)


def test_refunds_of_a_line_in_parts_never_add_up_to_more_than_it_was_charged() -> None:
    line = approved(**{"TEE-BLK-M": 2}).lines[0]
    assert line.refund_minor(2) == 2 * 1990 - 300  # the whole line: exactly as charged
    assert line.refund_minor(1) == 1990 - 150
    odd = replace(line, line_quantity=3, line_discount_minor=100)
    # Unit by unit, each share continues from the units refunded before: 34 + 33 + 33.
    parts = [odd.refund_minor(1, before) for before in range(3)]
    assert parts == [1990 - 34, 1990 - 33, 1990 - 33]
    assert sum(parts) == odd.refund_minor(3) == 3 * 1990 - 100


def test_a_return_runs_label_receipt_refund_restock_with_one_event_per_status() -> None:
    case = approved(**{"TEE-BLK-M": 2, "GIFT-SET": 1})
    assert case.status is ReturnStatus.APPROVED
    label = open_return(RID, DONE, assess(DONE, DELIVERED, [], {"GIFT-SET": 1}, NOW, RETURNS),
                        "x", NOW, RETURNS)  # fmt: skip
    (create,) = commands_of(label)
    assert isinstance(create, CreateReturnLabel)
    assert [(s.sku, s.quantity) for s in create.lines] == [("MUG-ENAMEL", 1), ("CAP-NVY", 2)]
    issued = on_reply(case, ReturnLabelCreated(return_id=RID, order_id=OID, carrier="SimPost",
                                               tracking_number="RL1"), NOW, RETURNS)  # fmt: skip
    assert (issued.case.status, issued.case.deadline) == (
        ReturnStatus.LABEL_ISSUED, NOW + RETURNS.receive_within
    )  # fmt: skip
    got = on_received(issued.case, [ReceivedLine("TEE-BLK-M", 1, SELLABLE),
                                    ReceivedLine("TEE-BLK-M", 1, DAMAGED),
                                    ReceivedLine("GIFT-SET", 1, SELLABLE)], NOW, RETURNS)  # fmt: skip
    (refund,) = commands_of(got)
    assert isinstance(refund, RefundPayment)
    assert refund.amount_minor == got.case.refund_minor == 2 * 1990 - 300 + 3000
    assert (refund.return_id, refund.idempotency_key) == (RID, f"{OID}:return:{RID}")
    assert (
        sum(ln.quantity * ln.unit_price_minor - ln.discount_minor for ln in refund.lines or [])
        == refund.amount_minor
    )
    refunded = on_reply(got.case, PaymentRefunded(order_id=OID, amount_minor=6660, currency="EUR",
                                                  return_id=RID), NOW, RETURNS)  # fmt: skip
    (restock,) = commands_of(refunded)
    assert isinstance(restock, RestockReturn)
    assert sorted((ln.sku, ln.quantity, ln.disposition) for ln in restock.lines) == [
        ("CAP-NVY", 2, "restock"), ("MUG-ENAMEL", 1, "restock"),
        ("TEE-BLK-M", 1, "restock"), ("TEE-BLK-M", 1, "write_off"),
    ]  # fmt: skip
    done = on_reply(refunded.case, ReturnRestocked(return_id=RID, order_id=OID,
                                                   lines=restock.lines), NOW, RETURNS)  # fmt: skip
    assert done.case.status is ReturnStatus.COMPLETED
    assert not done.commands
    statuses = [e.status for o in (issued, got, refunded, done) for e in o.events
                if isinstance(e, ReturnUpdated)]  # fmt: skip
    assert statuses == ["label_issued", "received", "refunded", "completed"]
    again = on_reply(done.case, ReturnRestocked(return_id=RID, order_id=OID, lines=restock.lines),
                     NOW, RETURNS)  # fmt: skip
    assert not again.changed


def test_a_receipt_must_match_the_return_and_comes_only_once() -> None:
    issued = approved(**{"TEE-BLK-M": 1}).evolve(status=ReturnStatus.LABEL_ISSUED)
    with pytest.raises(ReturnRefused) as wrong:
        on_received(issued, [ReceivedLine("TEE-BLK-M", 2, SELLABLE),
                             ReceivedLine("MUG-ENAMEL", 1, SELLABLE)], NOW, RETURNS)  # fmt: skip
    assert [p.reason for p in wrong.value.problems] == [
        "MUG-ENAMEL is not in the return", "2 TEE-BLK-M received, 1 returned"
    ]  # fmt: skip
    receipt = [ReceivedLine("TEE-BLK-M", 1, SELLABLE)]
    got = on_received(issued, receipt, NOW, RETURNS).case
    assert not on_received(got, receipt, NOW, RETURNS).changed  # the same receipt again
    with pytest.raises(ReturnRefused, match="no parcel is expected"):
        on_received(got, [ReceivedLine("TEE-BLK-M", 1, DAMAGED)], NOW, RETURNS)


def test_a_refused_label_cancels_and_a_parcel_that_never_came_cancels_its_label() -> None:
    case = approved(**{"MUG-ENAMEL": 1})
    refused = on_reply(case, ReturnLabelRefused(return_id=RID, order_id=OID, reason="no"),
                       NOW, RETURNS)  # fmt: skip
    assert (refused.case.status, refused.case.outcome) == (ReturnStatus.CANCELLED,
                                                           "no return label: no")  # fmt: skip
    issued = case.evolve(status=ReturnStatus.LABEL_ISSUED, deadline=NOW + RETURNS.receive_within)
    assert not on_timeout(issued, NOW, RETURNS).changed
    expired = on_timeout(issued, NOW + RETURNS.receive_within, RETURNS)
    (cancel,) = commands_of(expired)
    assert isinstance(cancel, CancelReturnLabel)
    assert expired.case.status is ReturnStatus.CANCELLING
    assert cancel.reason.startswith("the parcel did not arrive by")
    done = on_reply(expired.case, ReturnLabelCancelled(return_id=RID, order_id=OID), NOW, RETURNS)
    assert done.case.status is ReturnStatus.CANCELLED
    with pytest.raises(ReturnRefused, match="can no longer be cancelled"):
        on_cancel(case.evolve(status=ReturnStatus.RECEIVED), "changed my mind", NOW, RETURNS)


def test_a_step_is_resent_until_out_of_retries_then_the_return_fails() -> None:
    case = approved(**{"MUG-ENAMEL": 1}).evolve(status=ReturnStatus.RECEIVED, refund_minor=1250,
                                                 received=(ReceivedLine("MUG-ENAMEL", 1, SELLABLE),))  # fmt: skip
    at = case.deadline
    assert at is not None
    outcome = on_timeout(case, at, RETURNS)
    for _ in range(RETURNS.step_retries):
        assert isinstance(commands_of(outcome)[0], RefundPayment)
        assert outcome.case.deadline is not None
        outcome = on_timeout(outcome.case, outcome.case.deadline, RETURNS)
    assert outcome.case.status is ReturnStatus.FAILED
    assert outcome.case.outcome == "received: out of retries"


async def test_the_consumer_folds_a_returns_replies_and_leaves_the_saga_alone() -> None:
    sagas = MemorySagaStore(sagas={OID: DONE})
    case = approved(**{"MUG-ENAMEL": 1})
    returns = MemoryReturnStore(cases={RID: case})
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="orders", clock=clock)
    replies = [
        ReturnLabelCreated(return_id=RID, order_id=OID, carrier="SimPost", tracking_number="RL1"),
        ReturnLabelCreated(return_id=RID, order_id=OID, carrier="SimPost", tracking_number="RL1"),
    ]
    items = [incoming(m, n=n) for n, m in enumerate(replies)]
    await handle_saga_messages(sagas, Batch(None, outbox, clock), items, POLICY, returns, RETURNS)  # type: ignore[arg-type]
    assert returns.cases[RID].status is ReturnStatus.LABEL_ISSUED
    assert returns.cases[RID].version == case.version + 1  # the duplicate changed nothing
    assert [r.note for r in returns.rows] == [
        "ReturnLabelCreated",
        "ignored ReturnLabelCreated (duplicate or stale)",
    ]
    assert sagas.sagas[OID] == DONE
    assert [r.message_type for r in outbox.records()] == ["ReturnUpdated"]


def test_a_book_versions_each_change_once() -> None:
    book = ReturnBook({})
    outcome = open_return(RID, DONE, assess(DONE, DELIVERED, [], {"MUG-ENAMEL": 1}, NOW, RETURNS),
                          "x", NOW, RETURNS)  # fmt: skip
    case = book.open(outcome, "fp", NOW)
    assert (case.version, book.created, book.fingerprints) == (1, {RID}, {RID: "fp"})


def test_a_receipt_continues_the_discount_shares_from_units_other_returns_refunded() -> None:
    issued = approved(**{"TEE-BLK-M": 1}).evolve(status=ReturnStatus.LABEL_ISSUED)
    receipt = [ReceivedLine("TEE-BLK-M", 1, SELLABLE)]
    first = on_received(issued, receipt, NOW, RETURNS).case
    second = on_received(issued, receipt, NOW, RETURNS, before={0: 1}).case
    assert first.refund_minor + second.refund_minor == 2 * 1990 - 300
    (refund,) = commands_of(on_timeout(second, second.deadline or NOW, RETURNS))
    assert isinstance(refund, RefundPayment)
    assert [(ln.quantity, ln.discount_minor) for ln in refund.lines or []] == [(1, 150)]
