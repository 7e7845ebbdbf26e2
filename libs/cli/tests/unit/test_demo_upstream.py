"""The demo's upstream system: which orders it cancels, what it sends, and how it counts
the answers."""

from __future__ import annotations

import json

from orderflow_cli.demo_upstream import (
    _answered,
    cancellation_bytes,
    make_upstream,
    submission_bytes,
    upstream_summary,
)
from orderflow_contracts.inbound import CancelOrder, SubmitOrder


def _reply(type_: str, **payload: object) -> bytes:
    return json.dumps({"type": type_, "payload": payload}).encode()


def test_every_other_order_is_cancelled_and_each_request_meets_its_contract() -> None:
    orders = make_upstream(4, "run1")
    assert [(o.reference, o.cancel, o.expected) for o in orders] == [
        ("demo-run1-0", False, 1), ("demo-run1-1", True, 2),
        ("demo-run1-2", False, 1), ("demo-run1-3", True, 2),
    ]  # fmt: skip
    submitted = json.loads(submission_bytes("demo-run1-1"))
    assert (submitted["type"], submitted["correlation_id"]) == ("SubmitOrder", "demo-run1-1")
    SubmitOrder.model_validate(submitted["payload"])
    cancel = json.loads(cancellation_bytes("demo-run1-1"))
    assert (cancel["type"], cancel["version"]) == ("CancelOrder", 1)
    assert CancelOrder.model_validate(cancel["payload"]).reference == "demo-run1-1"


def test_the_answers_make_the_summary() -> None:
    kept, cancelled, silent = make_upstream(3, "r")[:3]
    cancelled.cancel = True
    _answered(kept, _reply("OrderSubmissionAccepted", order_id="o-1"))
    _answered(cancelled, _reply("OrderSubmissionAccepted", order_id="o-2"))
    _answered(cancelled, _reply("OrderCancellationAccepted", order_id="o-2"))
    assert (kept.order_id, cancelled.order_id, silent.order_id) == ("o-1", "o-2", None)
    assert upstream_summary([kept, cancelled, silent]) == {
        "submitted": 3, "accepted": 2, "rejected": 0, "cancellations": 1,
        "cancellations_accepted": 1, "cancellations_refused": 0, "unanswered": 1,
    }  # fmt: skip
