"""The saga on the real PostgreSQL: versioned rows, outbox commands, timers that fire once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import Address, Money, PricedLineV4, StockLine
from orderflow_contracts.inventory import StockReserved
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.outbox import Outbox
from orderflow_messaging.registry import Message
from orderflow_testing.batches import run_batch
from orderflow_testing.plugin import MigratedSchema
from orders.adapters.repository import ConcurrencyConflict, SagaRepository
from orders.adapters.saga_store import PgSagaStore
from orders.application import saga_service
from orders.application.deadline_holds import HoldClock
from orders.application.saga_batch import handle_saga_messages
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.bootstrap import MIGRATIONS
from orders.saga.policy import SagaPolicy
from orders.saga.state import SagaStatus, Step

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
POLICY = SagaPolicy(step_timeout=timedelta(seconds=5), step_retries=1, compensation_retries=1)


def placed(order_id: str = "o-1") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id="c-1",
        lines=[
            PricedLineV4(
                sku="TEE-BLK-M",
                quantity=1,
                unit_price=Money(amount_minor=1990, currency="EUR"),
                price_source="base",
            )
        ],
        total=Money(amount_minor=1990, currency="EUR"),
        shipping_address=Address(name="A", line1="1 St", city="X", postcode="10115", country="DE"),
        payment_token="tok_ok",
        placed_at=T0,
    )


async def run(engine: AsyncEngine, clock: FixedClock, fn: object, *args: object) -> object:
    async with engine.begin() as conn:
        uow = OrdersUnitOfWork(conn, Outbox(conn, producer="orders", clock=clock), clock, POLICY)
        return await fn(uow, *args)  # type: ignore[operator]


async def deliver(engine: AsyncEngine, clock: FixedClock, *messages: Message) -> None:
    """One consumer batch of ``messages``, through the PostgreSQL store."""

    async def handler(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
        await handle_saga_messages(PgSagaStore(batch.conn), batch, items, POLICY)

    await run_batch(engine, handler, messages, clock=clock, producer="orders")


async def outbox_types(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT message_type FROM outbox ORDER BY id"))
        return [r.message_type for r in rows]


async def test_saga_start_reply_and_timeouts_fire_once(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(T0)
    await deliver(db.engine, clock, placed())
    await deliver(db.engine, clock, placed())  # duplicate OrderPlaced
    assert await outbox_types(db.engine) == ["ReserveStock"]

    reserved = StockReserved(order_id="o-1", lines=[StockLine(sku="TEE-BLK-M", quantity=1)])
    await deliver(db.engine, clock, reserved)
    assert await outbox_types(db.engine) == ["ReserveStock", "AuthorizePayment"]

    # Two sweepers race at the deadline: the resend goes out exactly once.
    clock.now = T0 + timedelta(seconds=6)
    fired = await asyncio.gather(
        *(run(db.engine, clock, saga_service.fire_due_timeouts) for _ in range(4))
    )
    assert sum(len(f) for f in fired) == 1  # type: ignore[arg-type]
    assert (await outbox_types(db.engine)).count("AuthorizePayment") == 2

    clock.now = T0 + timedelta(seconds=12)
    await run(db.engine, clock, saga_service.fire_due_timeouts)
    async with db.engine.connect() as conn:
        saga = await SagaRepository(conn).get("o-1")
        history = await SagaRepository(conn).history("o-1")
    assert saga is not None
    assert (saga.status, saga.step) == (SagaStatus.COMPENSATING, Step.VOID_PAYMENT)
    assert saga.version == 4
    assert [h.kind for h in history] == ["started", "reply", "timeout", "timeout"]
    assert history[-1].commands == ["VoidPayment"]
    assert (await outbox_types(db.engine))[-1] == "VoidPayment"


async def test_reply_for_unknown_order_is_a_permanent_failure(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    reserved = StockReserved(order_id="nope", lines=[StockLine(sku="A", quantity=1)])
    with pytest.raises(PermanentFailure, match="unknown order"):
        await deliver(db.engine, FixedClock(T0), reserved)


async def test_one_batch_starts_and_advances_many_sagas_in_message_order(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(T0)
    orders = [f"o-{n}" for n in range(40)]
    await deliver(db.engine, clock, *(placed(o) for o in orders), placed("o-0"))
    line = [StockLine(sku="TEE-BLK-M", quantity=1)]
    await deliver(
        db.engine, clock, *(StockReserved(order_id=o, lines=line) for o in reversed(orders))
    )
    async with db.engine.connect() as conn:
        repo = SagaRepository(conn)
        sagas = [await repo.get(o) for o in orders]
        history = await repo.history("o-7")
    assert {(s.step, s.version) for s in sagas if s} == {(Step.AUTHORIZE_PAYMENT, 2)}
    assert [h.kind for h in history] == ["started", "reply"]
    types = await outbox_types(db.engine)
    assert types == ["ReserveStock"] * 40 + ["AuthorizePayment"] * 40
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT correlation_id FROM outbox WHERE message_type = 'AuthorizePayment' "
                "ORDER BY id"
            )
        )
        assert [r.correlation_id for r in rows] == list(reversed(orders))


async def test_stale_version_is_a_conflict(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(T0)
    await deliver(db.engine, clock, placed("o-2"))
    async with db.engine.begin() as conn:
        repo = SagaRepository(conn)
        saga = await repo.get("o-2")
        assert saga is not None
        await repo.update(saga.evolve(attempt=2), saga.version)
        with pytest.raises(ConcurrencyConflict):
            await repo.update(saga.evolve(attempt=3), saga.version)


async def test_a_held_participants_steps_wait_the_others_fire(
    migrated_schema: MigratedSchema,
) -> None:
    """Cuts from the hold clock (deadline_holds.py): payment was held for the last 30 s,
    so its step, due by the wall clock, waits; inventory's fires."""
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(T0)
    await deliver(db.engine, clock, placed("o-pay"), placed("o-inv"))
    reserved = StockReserved(order_id="o-pay", lines=[StockLine(sku="TEE-BLK-M", quantity=1)])
    await deliver(db.engine, clock, reserved)  # o-pay: AUTHORIZE_PAYMENT; o-inv: RESERVE_STOCK

    clock.now = T0 + timedelta(seconds=30)
    holds = HoldClock(POLICY.step_timeout)
    holds.observe("payment", True, T0)
    cuts = holds.cuts(clock.now)
    fired = await run(db.engine, clock, saga_service.fire_due_timeouts, 100, cuts)
    assert fired == ["o-inv"]
    async with db.engine.connect() as conn:
        repo = SagaRepository(conn)
        held_saga, fired_saga = await repo.get("o-pay"), await repo.get("o-inv")
    assert held_saga is not None
    assert fired_saga is not None
    assert (held_saga.step, held_saga.attempt) == (Step.AUTHORIZE_PAYMENT, 1)
    assert (fired_saga.step, fired_saga.attempt) == (Step.RESERVE_STOCK, 2)

    # The hold ends; a step timeout of unheld time later, payment's step fires too.
    holds.observe("payment", False, clock.now)
    clock.now += POLICY.step_timeout
    fired = await run(db.engine, clock, saga_service.fire_due_timeouts, 100, holds.cuts(clock.now))
    assert len(fired) == 2  # type: ignore[arg-type]  # o-inv's resend timed out meanwhile
    async with db.engine.connect() as conn:
        held_saga = await SagaRepository(conn).get("o-pay")
    assert held_saga is not None
    assert held_saga.attempt == 2
