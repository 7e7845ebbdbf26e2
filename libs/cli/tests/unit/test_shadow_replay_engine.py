"""Replaying one order's recorded saga inputs (no broker, no database): given a history
and the messages it names, expect the saga the transitions rebuild."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from orderflow_cli.commands.shadow_replay import (
    STAMP_SLACK,
    HistoryRow,
    NotReplayable,
    Transitions,
    current_transitions,
    replay,
    snapshot,
)
from orderflow_cli.commands.shadow_report import compare, default_policy
from orderflow_cli.commands.shadow_sources import RecordedSaga
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.example_payloads import ORDER_ID, payloads
from orderflow_messaging.registry import Message
from orders.saga import transitions as live
from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga, SagaStatus, Step
from orders.saga.transitions import Outcome

S = SagaStatus
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
POLICY = SagaPolicy(step_timeout=timedelta(seconds=2), step_retries=1, compensation_retries=3)
SAMPLES: dict[str, Message] = {type(m).__name__: m for m in payloads()}
# The sample order without its coupon: these histories start at the stock reservation.
SAMPLES["OrderPlaced"] = SAMPLES["OrderPlaced"].model_copy(update={"discounts": []})
TRANSITIONS = current_transitions()


class History:
    """A recorded history under construction: rows one second apart, and the messages."""

    def __init__(self) -> None:
        self.rows: list[HistoryRow] = []
        self.messages: dict[uuid.UUID, Message] = {}

    def at(self) -> datetime:
        return T0 + timedelta(seconds=len(self.rows))

    def message(self, kind: str, type_: str) -> History:
        message_id = uuid.uuid4()
        self.messages[message_id] = SAMPLES[type_]
        self.rows.append(HistoryRow(kind, self.at(), type_, message_id, type_))
        return self

    def started(self) -> History:
        return self.message("started", "OrderPlaced")

    def replies(self, *types: str) -> History:
        for type_ in types:
            self.message("reply", type_)
        return self

    def row(self, kind: str, note: str = "", at: datetime | None = None) -> History:
        self.rows.append(HistoryRow(kind, at or self.at(), note=note))
        return self

    def replay(self, transitions: Transitions = TRANSITIONS, **kwargs: str) -> Saga:
        return replay(ORDER_ID, self.rows, self.messages, POLICY, transitions, **kwargs)


FORWARD = ("StockReserved", "PaymentAuthorized", "ShipmentCreated", "PaymentCaptured")


def completed() -> History:
    return History().started().replies(*FORWARD, "StockCommitted")


def test_happy_history_rebuilds_the_completed_and_delivered_saga() -> None:
    saga = completed().replies("ShipmentDispatched", "ShipmentDelivered").replay()
    assert isinstance(SAMPLES["OrderPlaced"], OrderPlaced)
    assert saga.status is S.COMPLETED
    assert saga.step is None
    assert saga.order.total_minor == SAMPLES["OrderPlaced"].total.amount_minor
    assert snapshot(saga)["facts"] == {
        "promotions_redeemed": False, "stock_reserved": True, "payment_authorized": True, "payment_captured": True,
        "shipment_created": True, "shipment_dispatched": True, "shipment_delivered": True,
        "stock_committed": True,
    }  # fmt: skip


def test_declined_payment_compensates_then_cancels() -> None:
    saga = History().started().replies("StockReserved", "PaymentDeclined").replay()
    assert saga.status is S.COMPENSATING
    assert saga.step is Step.RELEASE_STOCK
    cancelled = History().started().replies("StockReserved", "PaymentDeclined", "StockReleased")
    assert cancelled.replay().status is S.CANCELLED
    assert cancelled.replay().reason == "payment declined: card_declined"


def test_injected_transition_changes_the_outcome() -> None:
    def reject_declined(saga: Saga, reply: Message, now: datetime, policy: SagaPolicy) -> Outcome:
        if reply.TYPE == "PaymentDeclined":
            return Outcome(saga.evolve(status=S.REJECTED, step=None, deadline=None, attempt=0))
        return live.on_reply(saga, reply, now, policy)

    history = History().started().replies("StockReserved", "PaymentDeclined", "StockReleased")
    changed = Transitions.from_modules(SimpleNamespace(on_reply=reject_declined), live)
    assert history.replay(changed).status is S.REJECTED
    assert history.replay().status is S.CANCELLED


def test_timeouts_replay_at_their_recorded_instant() -> None:
    history = History().started().replies("StockReserved")  # deadline: T0 + 1 s + 2 s
    resent = history.row("timeout", at=T0 + timedelta(seconds=3)).replay()
    assert (resent.status, resent.step, resent.attempt) == (S.RUNNING, Step.AUTHORIZE_PAYMENT, 2)
    gave_up = history.row("timeout", at=T0 + timedelta(seconds=6)).replay()
    assert gave_up.status is S.COMPENSATING
    assert gave_up.reason == "AUTHORIZE_PAYMENT timed out"


def test_a_timeout_stamped_just_before_the_rebuilt_deadline_still_fires() -> None:
    deadline = T0 + timedelta(seconds=1) + POLICY.step_timeout
    history = History().started().replies("StockReserved")
    history.row("timeout", at=deadline - STAMP_SLACK / 2)
    assert history.replay().attempt == 2


def test_a_timeout_well_before_the_deadline_is_not_due_in_the_shadow() -> None:
    longer = SagaPolicy(step_timeout=timedelta(seconds=30), step_retries=1)
    history = History().started().replies("StockReserved")
    history.row("timeout", at=T0 + timedelta(seconds=3))
    saga = replay(ORDER_ID, history.rows, history.messages, longer, TRANSITIONS)
    assert (saga.status, saga.attempt) == (S.RUNNING, 1)


def test_cancel_takes_the_reason_from_the_note_else_the_live_saga() -> None:
    noted = completed().row("cancel", note="compensating: cancelled by customer").replay()
    assert noted.status is S.COMPENSATING
    assert noted.step is Step.CANCEL_SHIPMENT
    assert noted.reason == "cancelled by customer"
    unnoted = completed().row("cancel", note="").replay(live_reason="changed my mind")
    assert unnoted.reason == "changed my mind"


def test_a_cancel_the_shadow_refuses_leaves_the_saga_as_it_was() -> None:
    rejected = History().started().replies("StockReservationFailed")
    saga = rejected.row("cancel", note="compensating: cancelled by customer").replay()
    assert saga.status is S.REJECTED
    assert saga.reason == "insufficient stock: SOLD-OUT"


def test_admin_rows_replay_the_matching_intervention() -> None:
    calls: list[tuple[str, str]] = []

    def on_resolve(saga: Saga, now: datetime, note: str) -> Outcome:
        calls.append(("resolve", note))
        return Outcome(saga.evolve(status=S.RESOLVED, reason=note))

    def on_force_compensate(saga: Saga, now: datetime, policy: SagaPolicy, why: str) -> Outcome:
        calls.append(("compensate", why))
        return Outcome(saga)

    admin = replace(TRANSITIONS, on_resolve=on_resolve, on_force_compensate=on_force_compensate)
    history = History().started()
    history.row("admin", note="operator compensate: restarted at VOID_PAYMENT: bank fixed")
    history.row("admin", note="operator compensate: stuck at the carrier")
    history.row("admin", note="operator resolve: refunded by hand (left undone: VOID_PAYMENT)")
    saga = history.replay(admin)
    assert calls == [
        ("compensate", "bank fixed"),
        ("compensate", "stuck at the carrier"),
        ("resolve", "refunded by hand"),
    ]
    assert (saga.status, saga.reason) == (S.RESOLVED, "refunded by hand")


def test_admin_row_without_its_transition_is_not_replayable() -> None:
    bare = replace(TRANSITIONS, on_retry=None, on_force_compensate=None, on_resolve=None)
    history = History().started().row("admin", note="operator retry: RESERVE_STOCK resent")
    with pytest.raises(NotReplayable, match="no admin transition"):
        history.replay(bare)


@pytest.mark.parametrize(
    ("history", "problem"),
    [
        (History().replies("StockReserved"), "does not begin with the saga's start"),
        (History().started().started(), "starts the saga twice"),
        (History().started().row("reply"), "not found on the topics"),
        (History().started().row("migration"), "unknown history row kind"),
        (History(), "no history"),
    ],
)
def test_not_replayable(history: History, problem: str) -> None:
    with pytest.raises(NotReplayable, match=problem):
        history.replay()


def test_compare_reports_same_different_and_not_replayable() -> None:
    declined = History().started().replies("StockReserved", "PaymentDeclined", "StockReleased")
    live_saga = declined.replay()
    drifted = live_saga.evolve(order_id="order-2", status=S.REJECTED)
    recorded = [
        RecordedSaga(live_saga, declined.rows),
        RecordedSaga(drifted, declined.rows),
        RecordedSaga(live_saga.evolve(order_id="order-3"), [HistoryRow("reply", T0)]),
    ]
    report = compare(recorded, declined.messages, POLICY, TRANSITIONS)
    out = report.as_json()
    assert not report.ok
    assert (out["orders"], out["same"]) == (3, 1)
    assert [(d["order_id"], d["fields"]) for d in out["different"]] == [("order-2", ["status"])]
    assert out["different"][0]["live"]["status"] == "REJECTED"
    assert out["different"][0]["shadow"]["status"] == "CANCELLED"
    assert [n["order_id"] for n in out["not_replayable"]] == ["order-3"]
    assert compare(recorded[:1], declined.messages, POLICY, TRANSITIONS).ok


def test_default_policy_is_the_services_default_with_overrides() -> None:
    assert default_policy() == SagaPolicy(timedelta(seconds=10), 1, 5)
    assert default_policy(2, 1, 3) == POLICY
