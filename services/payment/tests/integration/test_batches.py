"""Whole consumer batches on the real PostgreSQL and the simulated gateway: one charge
per key, every command answered in order, and the per-order lock shared with the timer."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from orderflow_contracts.payment import AuthorizePayment
from orderflow_messaging.settings import ConsumerSettings
from payment.adapters.gateway import SimulatedGateway
from payment.adapters.repository import PaymentRepository
from payment.domain.model import GatewayResult, PaymentStatus
from payment.entrypoints.messages import build_consumer

from .conftest import Harness, authorize, capture, key_of, record

ORDERS = [f"o{i:02d}" for i in range(50)]
DECLINED = {"o07": "tok_decline", "o21": "tok_decline", "o33": "tok_insufficient_funds"}
FLAKY = "o40"
NEW_KEY = "idem:o05:authorize-2"


@dataclass
class CountingGateway:
    """The simulated gateway, with every call counted by key."""

    inner: SimulatedGateway
    calls: Counter[str] = field(default_factory=Counter)

    async def authorize(
        self, key: str, order_id: str, amount_minor: int, currency: str, token: str
    ) -> GatewayResult:
        self.calls[key] += 1
        return await self.inner.authorize(key, order_id, amount_minor, currency, token)

    async def capture(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult:
        self.calls[key] += 1
        return await self.inner.capture(key, order_id, authorization_id, amount_minor, currency)

    async def void(self, key: str, order_id: str) -> GatewayResult:
        self.calls[key] += 1
        return await self.inner.void(key, order_id)

    async def refund(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult:
        self.calls[key] += 1
        return await self.inner.refund(key, order_id, authorization_id, amount_minor, currency)


def fifty_orders(*, flaky: bool) -> list[AuthorizePayment]:
    """50 authorizations, resends of three of them (same key) among them, one again
    under a new key, three declined cards and, when ``flaky``, one flaky gateway."""
    tokens = DECLINED | ({FLAKY: "tok_flaky"} if flaky else {})
    commands = [authorize(o, tokens.get(o, "tok_ok")) for o in ORDERS]
    commands.insert(10, authorize("o03"))
    commands.insert(30, authorize("o17"))
    commands.insert(41, authorize("o05", key=NEW_KEY))
    commands.append(authorize("o29"))
    return commands


def expected_outbox(commands: list[AuthorizePayment]) -> list[tuple[str, str]]:
    return [
        (c.order_id, "PaymentDeclined" if c.order_id in DECLINED else "PaymentAuthorized")
        for c in commands
    ]


async def assert_charged_once_and_answered(
    harness: Harness, commands: list[AuthorizePayment]
) -> None:
    assert await harness.outbox() == expected_outbox(commands), "every command, in batch order"
    ledger = await harness.gateway.ledger(limit=1000)
    assert sorted((e.order_id, e.key) for e in ledger) == [
        (o, key_of(o, "authorize")) for o in ORDERS
    ]
    reasons = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}
    for entry in ledger:
        token = DECLINED.get(entry.order_id)
        assert entry.result == (reasons[token] if token else "approved")
    by_order = {e.order_id: e for e in ledger}
    for order_id in ("o03", "o05", "o17", "o29"):
        first, again = await harness.replies(order_id)
        assert first == again, "a resend is answered with the first reply"
        assert first[1]["authorization_id"] == by_order[order_id].authorization_id
    for order_id in ORDERS:
        payment = await harness.payment(order_id)
        assert payment is not None
        declined = order_id in DECLINED
        assert payment.status is (PaymentStatus.DECLINED if declined else PaymentStatus.AUTHORIZED)
        assert await harness.key_state(key_of(order_id, "authorize")) == "done"
    assert await harness.key_state(NEW_KEY) == "done"


async def test_a_batch_of_50_authorizations_calls_the_gateway_once_per_key(
    batch_harness: Harness,
) -> None:
    harness = batch_harness
    gateway = CountingGateway(harness.gateway)
    commands = fifty_orders(flaky=False)
    await harness.batch(*commands, gateway=gateway)
    assert gateway.calls == Counter({key_of(o, "authorize"): 1 for o in ORDERS})
    await assert_charged_once_and_answered(harness, commands)


async def test_a_failed_batch_is_retried_record_by_record_without_a_second_charge(
    batch_harness: Harness,
) -> None:
    harness = batch_harness
    gateway = CountingGateway(harness.gateway)
    settings = ConsumerSettings(backoff_initial_s=0.01, backoff_max_s=0.02)
    consumer = build_consumer(harness.db.engine, settings, harness.clock, gateway)
    commands = fifty_orders(flaky=True)
    # The flaky call fails the batch; the consumer then runs each record alone.
    await consumer.process([record(c, c.order_id, n) for n, c in enumerate(commands)])
    assert gateway.calls[key_of(FLAKY, "authorize")] == 3, "refused twice, then approved"
    assert all(n >= 2 for n in gateway.calls.values()), "the batch's calls were repeated"
    await assert_charged_once_and_answered(harness, commands)


async def test_a_batch_waits_for_the_order_lock_the_timer_takes(batch_harness: Harness) -> None:
    harness = batch_harness
    await harness.batch(authorize("o1"))
    async with harness.db.engine.begin() as conn:
        await PaymentRepository(conn).lock_order("o2")
        running = asyncio.create_task(harness.batch(capture("o1"), authorize("o2")))
        await asyncio.sleep(0.5)
        assert not running.done(), "the batch waits for o2's lock"
    await running
    assert await harness.reply_types("o1") == ["PaymentAuthorized", "PaymentCaptured"]
    assert await harness.reply_types("o2") == ["PaymentAuthorized"]
