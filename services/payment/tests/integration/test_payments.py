"""Payment commands on the real PostgreSQL: answers, resends, and money moving once."""

from __future__ import annotations

import pytest

from orderflow_messaging.errors import PermanentFailure
from payment.domain.model import PaymentStatus

from .conftest import Harness, authorize, capture, refund, void


@pytest.mark.parametrize(
    ("token", "replies", "status", "ledger_result"),
    [
        ("tok_ok", ["PaymentAuthorized"], PaymentStatus.AUTHORIZED, "approved"),
        ("tok_decline", ["PaymentDeclined"], PaymentStatus.DECLINED, "card_declined"),
        (
            "tok_insufficient_funds",
            ["PaymentDeclined"],
            PaymentStatus.DECLINED,
            "insufficient_funds",
        ),
        ("tok_stolen_card", ["PaymentDeclined"], PaymentStatus.DECLINED, "unknown_token"),
        # No answer from the gateway: no reply at all, the saga times out and voids.
        ("tok_timeout", [], PaymentStatus.AUTHORIZATION_PENDING, "approved"),
        ("tok_slow", [], PaymentStatus.AUTHORIZATION_PENDING, "processing"),
    ],
)
async def test_each_test_token_gets_its_outcome(
    harness: Harness,
    token: str,
    replies: list[str],
    status: PaymentStatus,
    ledger_result: str,
) -> None:
    await harness.send(authorize("o1", token))
    assert await harness.reply_types("o1") == replies
    stored = await harness.payment("o1")
    assert stored is not None
    assert stored.status is status
    assert stored.token == token
    assert await harness.ledger_rows("o1") == [
        ("idem:o1:authorize", "authorize", 1000, ledger_result)
    ]


async def test_authorized_and_declined_replies_carry_their_content(harness: Harness) -> None:
    await harness.send(authorize("o1"), authorize("o2", "tok_insufficient_funds"))
    [(_, authorized)] = await harness.replies("o1")
    [ledger_row] = await harness.ledger("o1")
    assert authorized == {
        "order_id": "o1",
        "authorization_id": ledger_row.authorization_id,
        "amount_minor": 1000,
        "currency": "EUR",
    }
    assert await harness.replies("o2") == [
        ("PaymentDeclined", {"order_id": "o2", "reason": "insufficient_funds"})
    ]


async def test_resent_commands_answer_again_with_one_ledger_row_per_key(
    harness: Harness,
) -> None:
    for command in (authorize("o1"), capture("o1"), refund("o1"), authorize("o2"), void("o2")):
        await harness.send(command, command, command)
    first_three = await harness.replies("o1")
    assert [t for t, _ in first_three] == ["PaymentAuthorized"] * 3 + ["PaymentCaptured"] * 3 + [
        "PaymentRefunded"
    ] * 3
    assert len({str(payload) for _, payload in first_three[:3]}) == 1, "same content"
    assert await harness.ledger_rows("o1") == [
        ("idem:o1:authorize", "authorize", 1000, "approved"),
        ("idem:o1:capture", "capture", 1000, "approved"),
        ("idem:o1:refund", "refund", 1000, "approved"),
    ]
    assert await harness.reply_types("o2") == ["PaymentAuthorized"] * 3 + ["PaymentVoided"] * 3
    assert [row[:2] for row in await harness.ledger_rows("o2")] == [
        ("idem:o2:authorize", "authorize"),
        ("idem:o2:void", "void"),
    ]
    for key in ("idem:o1:authorize", "idem:o1:capture", "idem:o1:refund", "idem:o2:void"):
        assert await harness.key_state(key) == "done"


async def test_done_key_repeats_its_stored_reply_even_after_the_state_moved_on(
    harness: Harness,
) -> None:
    await harness.send(authorize("o1"), void("o1"), authorize("o1"))
    replies = await harness.replies("o1")
    assert [t for t, _ in replies] == ["PaymentAuthorized", "PaymentVoided", "PaymentAuthorized"]
    assert replies[2] == replies[0], "the reply the key got, not one derived from today's state"
    assert len(await harness.ledger("o1")) == 2, "authorize and void, nothing more"


async def test_void_before_authorize_refuses_the_late_authorization(harness: Harness) -> None:
    await harness.send(void("o1"), authorize("o1"))
    assert await harness.replies("o1") == [
        ("PaymentVoided", {"order_id": "o1"}),
        ("PaymentDeclined", {"order_id": "o1", "reason": "voided"}),
    ]
    stored = await harness.payment("o1")
    assert stored is not None
    assert stored.status is PaymentStatus.VOIDED
    assert await harness.ledger("o1") == [], "nothing was ever sent to the gateway"


async def test_capture_happens_exactly_once_per_order(harness: Harness) -> None:
    await harness.send(authorize("o1"), capture("o1"), capture("o1"))
    await harness.send(capture("o1", key="o1:capture-again"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized"] + ["PaymentCaptured"] * 3
    captures = [row for row in await harness.ledger_rows("o1") if row[1] == "capture"]
    assert captures == [("idem:o1:capture", "capture", 1000, "approved")]
    stored = await harness.payment("o1")
    assert stored is not None
    assert (stored.status, stored.captured_minor) == (PaymentStatus.CAPTURED, 1000)


async def test_capture_refusals_are_replies_and_move_no_money(harness: Harness) -> None:
    await harness.send(authorize("o1"), capture("o1", amount=999))
    await harness.send(authorize("o2", "tok_decline"), capture("o2"))
    await harness.send(capture("o3"))
    await harness.send(void("o4"), capture("o4"))
    assert (await harness.replies("o1"))[-1] == (
        "PaymentCaptureFailed",
        {"order_id": "o1", "reason": "amount_mismatch"},
    )
    assert (await harness.replies("o2"))[-1][1]["reason"] == "payment_declined"
    assert (await harness.replies("o3"))[-1][1]["reason"] == "payment_not_found"
    assert (await harness.replies("o4"))[-1][1]["reason"] == "payment_voided"
    for order_id in ("o1", "o2", "o3", "o4"):
        assert all(row[1] != "capture" for row in await harness.ledger_rows(order_id))
    stored = await harness.payment("o1")
    assert stored is not None
    assert stored.status is PaymentStatus.AUTHORIZED, "a refused capture keeps the hold"


# An order's own refund names no return.
REFUNDED = {"order_id": "o1", "currency": "EUR", "return_id": None}


async def test_void_after_capture_gives_the_money_back(harness: Harness) -> None:
    await harness.send(authorize("o1"), capture("o1"), void("o1"), void("o1"))
    assert await harness.replies("o1") == [
        ("PaymentAuthorized", (await harness.replies("o1"))[0][1]),
        ("PaymentCaptured", {"order_id": "o1", "amount_minor": 1000, "currency": "EUR"}),
        ("PaymentRefunded", {**REFUNDED, "amount_minor": 1000}),
        ("PaymentRefunded", {**REFUNDED, "amount_minor": 1000}),
    ]
    assert (await harness.ledger_rows("o1"))[-1] == ("idem:o1:void", "refund", 1000, "approved")
    stored = await harness.payment("o1")
    assert stored is not None
    assert (stored.status, stored.refunded_minor) == (PaymentStatus.REFUNDED, 1000)


async def test_refunds_in_parts_give_back_at_most_what_was_captured(harness: Harness) -> None:
    await harness.send(authorize("o1"), capture("o1"), refund("o1", amount=400))
    # Another refund (a return's, under its own key) asks for more than is left: the rest.
    await harness.send(refund("o1", key="o1:refund-more", amount=5000))
    await harness.send(refund("o1", key="o1:refund-again", amount=100))  # nothing left
    assert (await harness.replies("o1"))[-3:] == [
        ("PaymentRefunded", {**REFUNDED, "amount_minor": 400}),
        ("PaymentRefunded", {**REFUNDED, "amount_minor": 1000}),  # the total so far
        ("PaymentRefunded", {**REFUNDED, "amount_minor": 1000}),
    ]
    refunds = [row for row in await harness.ledger_rows("o1") if row[1] == "refund"]
    assert refunds == [
        ("idem:o1:refund", "refund", 400, "approved"),
        ("o1:refund-more", "refund", 600, "approved"),
    ]


async def test_refund_of_an_uncaptured_payment_voids_instead(harness: Harness) -> None:
    await harness.send(authorize("o1"), refund("o1"))
    await harness.send(refund("o2"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized", "PaymentVoided"]
    assert (await harness.ledger_rows("o1"))[-1][:2] == ("idem:o1:refund", "void")
    assert await harness.replies("o2") == [("PaymentVoided", {"order_id": "o2"})]
    assert await harness.ledger("o2") == []
    for order_id in ("o1", "o2"):
        stored = await harness.payment(order_id)
        assert stored is not None
        assert stored.status is PaymentStatus.VOIDED


async def test_a_key_reused_for_another_request_is_a_permanent_failure(
    harness: Harness,
) -> None:
    await harness.send(authorize("o1", key="shared-key-1"))
    with pytest.raises(PermanentFailure, match="different request"):
        await harness.send(authorize("o1", key="shared-key-1", amount=2000))
    with pytest.raises(PermanentFailure, match="different request"):
        await harness.send(capture("o1", key="shared-key-1"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized"]
    assert len(await harness.ledger("o1")) == 1
