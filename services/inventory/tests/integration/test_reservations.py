"""Reservations on the real PostgreSQL: never oversell, idempotent replies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.adapters.batch_store import PgStockStore
from inventory.adapters.repository import StockRepository
from inventory.application import handlers
from inventory.application.batch import Command, handle_commands
from inventory.application.unit_of_work import InventoryUnitOfWork, unit_of_work
from inventory.bootstrap import MIGRATIONS
from inventory.domain.model import StockItem
from orderflow_contracts.common import StockLine
from orderflow_contracts.inventory import CommitStock, ReleaseStock, ReserveStock
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.outbox import Outbox
from orderflow_testing.batches import run_batch
from orderflow_testing.plugin import MigratedSchema

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TTL = timedelta(minutes=30)


async def _stock(engine: AsyncEngine, **levels: int) -> None:
    async with engine.begin() as conn:
        for sku, qty in levels.items():
            await StockRepository(conn).add_if_missing(StockItem(sku, qty, qty))


async def _run(engine: AsyncEngine, clock: FixedClock, *commands: Command) -> None:
    """One consumer batch of ``commands``, through the PostgreSQL store."""

    async def handler(batch: Batch, items: Sequence[Incoming[Command]]) -> None:
        await handle_commands(PgStockStore(batch.conn), batch, items, TTL)

    await run_batch(engine, handler, commands, clock=clock, producer="inventory")


async def _replies(engine: AsyncEngine, order_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT message_type FROM outbox WHERE correlation_id = :o ORDER BY id"),
            {"o": order_id},
        )
        return [row.message_type for row in rows]


async def _levels(engine: AsyncEngine, sku: str) -> tuple[int, int, int, int]:
    async with engine.connect() as conn:
        item = await StockRepository(conn).get(sku)
    assert item is not None
    return item.initial, item.available, item.reserved, item.committed


def reserve(order_id: str, **lines: int) -> ReserveStock:
    return ReserveStock(
        order_id=order_id, lines=[StockLine(sku=s, quantity=q) for s, q in lines.items()]
    )


async def test_last_unit_under_50_concurrent_orders_goes_to_exactly_one(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await _stock(db.engine, LAST=1)
    orders = [f"o{i}" for i in range(50)]
    await asyncio.gather(*(_run(db.engine, clock, reserve(o, LAST=1)) for o in orders))
    replies = [r for o in orders for r in await _replies(db.engine, o)]
    assert replies.count("StockReserved") == 1
    assert replies.count("StockReservationFailed") == 49
    assert await _levels(db.engine, "LAST") == (1, 0, 1, 0)


async def test_one_batch_of_50_orders_for_the_last_unit_reserves_it_once(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await _stock(db.engine, LAST=1, B=3)
    orders = [f"o{i}" for i in range(50)]
    await _run(db.engine, clock, *(reserve(o, LAST=1, B=1) for o in orders))
    replies = [r for o in orders for r in await _replies(db.engine, o)]
    assert replies[0] == "StockReserved"  # message order decides: the first order wins
    assert replies.count("StockReservationFailed") == 49
    assert await _levels(db.engine, "LAST") == (1, 0, 1, 0)
    assert await _levels(db.engine, "B") == (3, 2, 1, 0)


async def test_resent_commands_answer_again_without_second_effect(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await _stock(db.engine, A=10)
    await _run(db.engine, clock, reserve("o1", A=3))
    await _run(db.engine, clock, reserve("o1", A=3))
    assert await _levels(db.engine, "A") == (10, 7, 3, 0)
    await _run(db.engine, clock, CommitStock(order_id="o1"), CommitStock(order_id="o1"))
    assert await _levels(db.engine, "A") == (10, 7, 0, 3)
    for _ in range(2):
        await _run(db.engine, clock, ReleaseStock(order_id="o1", reason="x"))
    assert await _levels(db.engine, "A") == (10, 10, 0, 0)
    assert await _replies(db.engine, "o1") == [
        "StockReserved", "StockReserved", "StockCommitted", "StockCommitted",
        "StockReleased", "StockReleased",
    ]  # fmt: skip


async def test_release_before_reserve_refuses_the_late_reservation(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await _stock(db.engine, A=10)
    await _run(db.engine, clock, ReleaseStock(order_id="o9", reason="t"), reserve("o9", A=1))
    assert await _levels(db.engine, "A") == (10, 10, 0, 0)
    assert await _replies(db.engine, "o9") == ["StockReleased", "StockReservationFailed"]


async def test_reservations_expire_and_give_stock_back(migrated_schema: MigratedSchema) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await _stock(db.engine, A=5)
    await _run(db.engine, clock, reserve("o1", A=2))
    clock.now = NOW + TTL + timedelta(seconds=1)
    async with db.engine.begin() as conn:
        uow = InventoryUnitOfWork(conn, Outbox(conn, producer="inventory"), clock)
        assert await handlers.expire_reservations(uow) == 1
    assert await _levels(db.engine, "A") == (5, 5, 0, 0)


async def _announced(engine: AsyncEngine) -> list[tuple[str, int, int]]:
    """(sku, available, revision) of every level in the outbox, in queue order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT key, value FROM outbox WHERE topic = 'inventory.stock' ORDER BY id")
        )
        payloads = [(row.key.decode(), json.loads(row.value)["payload"]) for row in rows]
    for key, payload in payloads:
        assert key == payload["sku"]  # keyed by SKU: one SKU's levels stay in order
    return [(p["sku"], p["available"], p["revision"]) for _, p in payloads]


async def test_levels_are_announced_once_per_sku_per_batch_when_available_changes(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    await _stock(db.engine, A=10, B=4)
    await _run(db.engine, clock, reserve("o1", A=2, B=1), reserve("o2", A=3))
    assert await _announced(db.engine) == [("A", 5, 1), ("B", 3, 1)]
    # A commit moves reserved to committed: the row is written (revision 2), the
    # available quantity is not, so nothing is announced.
    await _run(db.engine, clock, CommitStock(order_id="o1"))
    await _run(db.engine, clock, ReleaseStock(order_id="o2", reason="declined"))
    assert (await _announced(db.engine))[2:] == [("A", 8, 3)]


async def test_expiry_counts_and_backfill_announce_their_levels(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(NOW)
    # Stocked with revision 0 (never announced); one SKU no contract can name (stocked
    # before PUT /stock checked SKUs): settled without a level.
    await _stock(db.engine, A=5, OLD=7, **{"old \x11": 1})
    await _run(db.engine, clock, reserve("o1", A=2))
    clock.now = NOW + TTL + timedelta(seconds=1)
    async with unit_of_work(db.engine, clock) as uow:
        assert await handlers.expire_reservations(uow) == 1
    async with unit_of_work(db.engine, clock) as uow:
        counted = await handlers.set_available(uow, "A", 9)
        assert counted == StockItem("A", 9, 9, revision=3)
        await handlers.set_available(uow, "NEW", 4)
    settled = []
    for _ in range(2):  # the second pass finds nothing left to announce
        async with unit_of_work(db.engine, clock) as uow:
            settled.append(await handlers.announce_unannounced(uow))
    assert settled == [2, 0]
    assert await _announced(db.engine) == [
        ("A", 3, 1), ("A", 5, 2), ("A", 9, 3), ("NEW", 4, 1), ("OLD", 7, 1)
    ]  # fmt: skip
