"""Gateway faults and crashes: retries and late answers never charge twice."""

from __future__ import annotations

import asyncio

import pytest

from orderflow_messaging.errors import TransientFailure
from payment.application import handlers
from payment.application.ports import GatewayConflict
from payment.domain.model import GatewayResult, GatewayStatus, PaymentStatus

from .conftest import SLOW_DELAY, Crash, Harness, authorize, capture, key_of, void


async def test_flaky_gateway_fails_twice_then_approves_once(harness: Harness) -> None:
    for _ in range(2):
        with pytest.raises(TransientFailure, match="unavailable"):
            await harness.send(authorize("o1", "tok_flaky"))
        assert await harness.payment("o1") is None, "the handler's transaction rolled back"
        assert await harness.key_state(key_of("o1", "authorize")) == "pending"
    await harness.send(authorize("o1", "tok_flaky"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized"]
    assert await harness.ledger_rows("o1") == [
        (key_of("o1", "authorize"), "authorize", 1000, "approved")
    ]
    assert await harness.key_state(key_of("o1", "authorize")) == "done"


async def test_slow_authorization_completes_late_through_the_periodic_check(
    harness: Harness,
) -> None:
    await harness.send(authorize("o1", "tok_slow"))
    assert await harness.reply_types("o1") == []
    assert await harness.key_state(key_of("o1", "authorize")) == "pending"
    assert await harness.tick() == 0, "not due yet"
    harness.clock.now += SLOW_DELAY
    assert await harness.tick() == 1
    [(reply, payload)] = await harness.replies("o1")
    assert reply == "PaymentAuthorized"
    stored = await harness.payment("o1")
    assert stored is not None
    assert stored.status is PaymentStatus.AUTHORIZED
    assert payload["authorization_id"] == stored.authorization_id
    assert await harness.tick() == 0, "answered once"
    await harness.send(authorize("o1", "tok_slow"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized"] * 2
    assert await harness.ledger_rows("o1") == [
        (key_of("o1", "authorize"), "authorize", 1000, "approved")
    ]


async def test_resent_slow_authorization_asks_the_gateway_again(harness: Harness) -> None:
    await harness.send(authorize("o1", "tok_slow"))
    harness.clock.now += SLOW_DELAY
    await harness.send(authorize("o1", "tok_slow"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized"]
    assert await harness.tick() == 0
    assert len(await harness.ledger("o1")) == 1


async def test_slow_authorization_voided_meanwhile_is_never_answered_late(
    harness: Harness,
) -> None:
    await harness.send(authorize("o1", "tok_slow"), void("o1"))
    harness.clock.now += SLOW_DELAY
    assert await harness.tick() == 0
    # Even when asked directly (a void that raced the periodic check's listing).
    async with harness.unit_of_work() as uow:
        assert await handlers.complete_pending_authorization(uow, "o1") is False
    assert await harness.reply_types("o1") == ["PaymentVoided"]
    assert await harness.ledger_rows("o1") == [
        (key_of("o1", "authorize"), "authorize", 1000, "cancelled"),
        (key_of("o1", "void"), "void", 1000, "approved"),
    ]
    stored = await harness.payment("o1")
    assert stored is not None
    assert stored.status is PaymentStatus.VOIDED


async def test_timed_out_authorization_sends_nothing_until_voided(harness: Harness) -> None:
    await harness.send(authorize("o1", "tok_timeout"), authorize("o1", "tok_timeout"))
    harness.clock.now += SLOW_DELAY * 100
    assert await harness.tick() == 0
    assert await harness.reply_types("o1") == []
    await harness.send(void("o1"))
    assert await harness.reply_types("o1") == ["PaymentVoided"]
    assert await harness.ledger_rows("o1") == [
        (key_of("o1", "authorize"), "authorize", 1000, "approved"),
        (key_of("o1", "void"), "void", 1000, "approved"),
    ], "the hold the gateway placed without answering is released"


async def test_crash_after_authorizing_retries_without_a_second_charge(harness: Harness) -> None:
    with pytest.raises(Crash):
        await harness.send(authorize("o1"), crash=True)
    assert await harness.payment("o1") is None
    assert await harness.reply_types("o1") == []
    [charged] = await harness.ledger("o1")
    assert await harness.key_state(key_of("o1", "authorize")) == "pending"
    await harness.send(authorize("o1"))
    [(_, payload)] = await harness.replies("o1")
    assert payload["authorization_id"] == charged.authorization_id
    assert await harness.ledger("o1") == [charged]


async def test_crash_after_capturing_retries_without_a_second_capture(harness: Harness) -> None:
    await harness.send(authorize("o1"))
    with pytest.raises(Crash):
        await harness.send(capture("o1"), crash=True)
    await harness.send(capture("o1"))
    # A resend under a new key finds the payment captured: no gateway call at all.
    await harness.send(capture("o1", key="idem:o1:capture-2"))
    captures = [row for row in await harness.ledger_rows("o1") if row[1] == "capture"]
    assert captures == [(key_of("o1", "capture"), "capture", 1000, "approved")]
    assert await harness.reply_types("o1") == ["PaymentAuthorized"] + ["PaymentCaptured"] * 2


async def test_void_after_a_crashed_authorization_releases_the_hold(harness: Harness) -> None:
    with pytest.raises(Crash):
        await harness.send(authorize("o1"), crash=True)
    await harness.send(void("o1"), authorize("o1"))
    assert await harness.replies("o1") == [
        ("PaymentVoided", {"order_id": "o1"}),
        ("PaymentDeclined", {"order_id": "o1", "reason": "voided"}),
    ]
    assert [row[1:] for row in await harness.ledger_rows("o1")] == [
        ("authorize", 1000, "approved"),
        ("void", 1000, "approved"),
    ]


async def test_new_key_for_an_open_authorization_never_authorizes_twice(
    harness: Harness,
) -> None:
    with pytest.raises(Crash):
        await harness.send(authorize("o1"), crash=True)
    await harness.send(authorize("o1", key="idem:o1:authorize-2"))
    assert await harness.reply_types("o1") == ["PaymentAuthorized"]
    assert [row[0] for row in await harness.ledger_rows("o1")] == [key_of("o1", "authorize")]
    assert await harness.key_state(key_of("o1", "authorize")) == "done"
    assert await harness.key_state("idem:o1:authorize-2") == "done"


async def test_concurrent_gateway_calls_are_recorded_as_if_one_at_a_time(
    harness: Harness,
) -> None:
    # Concurrent calls share the simulator's transactions (group commit); the ledger
    # must read as the same calls made one by one.
    gateway = harness.gateway
    auths = await asyncio.gather(
        *(gateway.authorize(f"a-{n}", f"g{n}", 1000, "EUR", "tok_ok") for n in range(6)),
        gateway.authorize("a-0", "g0", 1000, "EUR", "tok_ok"),  # a retry in the group
    )
    assert all(a.status is GatewayStatus.APPROVED for a in auths)
    assert auths[-1].authorization_id == auths[0].authorization_id
    auth_id = auths[0].authorization_id
    assert auth_id is not None
    captures = await asyncio.gather(
        *(gateway.capture(f"c-{n}", "g0", auth_id, 1000, "EUR") for n in range(4)),
        gateway.capture("c-0", "g0", auth_id, 1000, "EUR"),  # a retry in the group
        gateway.capture("a-1", "g0", auth_id, 1000, "EUR"),  # a key of another call
        return_exceptions=True,
    )
    approved = [c for c in captures[:5] if isinstance(c, GatewayResult)]
    assert [c.status for c in approved] == [GatewayStatus.APPROVED] * 5
    assert isinstance(captures[5], GatewayConflict)
    rows = [row for row in await harness.ledger_rows("g0") if row[1] == "capture"]
    # One capture moved money; the others under new keys were told it was captured.
    assert sorted(row[3] for row in rows) == ["already_captured"] * 3 + ["approved"]
    assert len(await harness.ledger_rows("g1")) == 1
