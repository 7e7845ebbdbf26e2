"""One contract, two stores: the in-memory fake and PostgreSQL must behave alike, so
that unit tests of the batch use cases (consumer and timers) on the fake say something
about production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

import pytest

from orderflow_messaging.db import hot_pool
from orderflow_testing.plugin import MigratedSchema
from shipping.adapters.batch_store import ConcurrentShipment, MemoryShipmentStore, PgShipmentStore
from shipping.adapters.repository import ShipmentRepository
from shipping.application.batch import ShipmentBook
from shipping.application.ports import ShipmentStore, TimerStore
from shipping.bootstrap import MIGRATIONS
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import (
    Address,
    Line,
    Shipment,
    ShipmentStatus,
    Timings,
    open_shipment,
    tombstone,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(seconds=4)
TIMINGS = Timings(timedelta(seconds=10), timedelta(seconds=3), timedelta(seconds=3))
CARRIER = SimulatedCarrier()


class Store(ShipmentStore, TimerStore, Protocol):
    """Both stores serve the consumer and the timers."""


# Runs a step against a store inside one transaction (PostgreSQL) or directly (fake).
InTransaction = Callable[[Callable[[Store], Awaitable[object]]], Awaitable[object]]


def opened(order_id: str, postcode: str = "10115", n: int = 1, now: datetime = NOW) -> Shipment:
    address = Address("Ada Lovelace", "1 Analytical Way", "London", postcode, "GB")
    lines = [Line("A", 2), Line("B", 1)]
    return open_shipment(order_id, address, lines, CARRIER, UUID(int=n), now, TIMINGS)


def creating(*shipments: Shipment) -> Callable[[Store], Awaitable[object]]:
    async def step(store: Store) -> None:
        book = await store.load_for_update([s.order_id for s in shipments])
        for shipment in shipments:
            book.shipments[shipment.order_id] = shipment
            book.created.add(shipment.order_id)
        await store.save(book)

    return step


async def load(store: Store) -> ShipmentBook:
    return await store.load_for_update(["o1", "o2", "o3", "o4", "none"])


@pytest.fixture(params=["memory", "postgres"])
async def in_transaction(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[InTransaction]:
    if request.param == "memory":
        fake = MemoryShipmentStore()

        async def on_fake(step: Callable[[Store], Awaitable[object]]) -> object:
            return await step(fake)

        yield on_fake
        return
    db = await migrated_schema(MIGRATIONS)
    pool = await hot_pool(db.engine).pool()

    async def on_postgres(step: Callable[[Store], Awaitable[object]]) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgShipmentStore(conn))

    yield on_postgres


async def test_created_shipments_load_back_as_they_were(in_transaction: InTransaction) -> None:
    made = [
        opened("o1", "10115", 1),  # booked at once
        # waiting for a slow carrier, with the trace its timer event will continue
        replace(opened("o2", "99501", 2), traceparent=f"00-{'ab' * 16}-{'cd' * 8}-01"),
        opened("o3", "00100", 3),  # refused by the carrier
        tombstone("o4", "payment declined", NOW),  # no address, no lines
    ]
    await in_transaction(creating(*made))
    book = await in_transaction(load)
    assert isinstance(book, ShipmentBook)
    assert book.shipments == {s.order_id: s for s in made}
    assert (book.created, book.changed) == (set(), set())


async def test_changed_shipments_are_written_and_untouched_ones_kept(
    in_transaction: InTransaction,
) -> None:
    await in_transaction(creating(opened("o1", n=1), opened("o2", n=2), opened("o3", "99501", 3)))
    cancelled = opened("o1", n=1).cancel("customer", LATER).shipment
    booked = opened("o3", "99501", 3).confirm(CARRIER.book(UUID(int=9)), LATER, TIMINGS)

    async def change(store: Store) -> None:
        book = await store.load_for_update(["o1", "o2", "o3"])
        for shipment in (cancelled, booked):
            book.shipments[shipment.order_id] = shipment
            book.changed.add(shipment.order_id)
        book.shipments["o2"] = replace(book.shipments["o2"], reason="not marked changed")
        await store.save(book)

    await in_transaction(change)
    book = await in_transaction(load)
    assert isinstance(book, ShipmentBook)
    assert book.shipments == {"o1": cancelled, "o2": opened("o2", n=2), "o3": booked}


async def test_created_and_changed_in_one_book_is_inserted_as_it_ends(
    in_transaction: InTransaction,
) -> None:
    final = opened("o1").cancel("customer", LATER).shipment

    async def step(store: Store) -> None:
        book = await store.load_for_update(["o1"])
        book.shipments["o1"] = final
        book.created.add("o1")
        book.changed.add("o1")
        await store.save(book)

    await in_transaction(step)
    book = await in_transaction(load)
    assert isinstance(book, ShipmentBook)
    assert book.shipments == {"o1": final}


async def test_a_shipment_created_twice_is_a_conflict_and_nothing_is_written(
    in_transaction: InTransaction,
) -> None:
    await in_transaction(creating(opened("o1", n=1)))
    with pytest.raises(ConcurrentShipment):
        await in_transaction(creating(opened("o2", n=2), tombstone("o1", "late", LATER)))
    book = await in_transaction(load)
    assert isinstance(book, ShipmentBook)
    assert book.shipments == {"o1": opened("o1", n=1)}


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def requested(order_id: str, ready: float) -> Shipment:
    return replace(opened(order_id, "99501"), ready_at=at(ready))


def booked(order_id: str, created: float, n: int) -> Shipment:
    return opened(order_id, n=n, now=at(created))


def step(shipment: Shipment, when: float) -> Shipment:
    moved = shipment.next_step(at(when), TIMINGS, CARRIER)
    assert moved is not None
    return moved


def dispatched(order_id: str, when: float, n: int, postcode: str = "10115") -> Shipment:
    created = opened(order_id, postcode, n, at(when) - TIMINGS.dispatch_after)
    return step(created, when)


def ids(shipments: Sequence[Shipment]) -> list[str]:
    return [s.order_id for s in shipments]


async def test_claim_ready_takes_what_the_carrier_accepted_longest_ready_first(
    in_transaction: InTransaction,
) -> None:
    await in_transaction(
        creating(
            requested("r10", 10), requested("b5", 5), requested("a5", 5), requested("r12", 12),
            requested("gone", 1).cancel("customer", at(2)).shipment,  # cancelled while waiting
            opened("booked", n=1),
        )
    )  # fmt: skip

    async def claim(now: float, limit: int) -> list[str]:
        async def step(store: Store) -> list[str]:
            return ids(await store.claim_ready(at(now), limit))

        claimed = await in_transaction(step)
        assert isinstance(claimed, list)
        return claimed

    assert await claim(4.9, 10) == []
    assert await claim(10, 10) == ["a5", "b5", "r10"]  # ready at exactly now: ready
    assert await claim(10, 2) == ["a5", "b5"]
    assert await claim(100, 10) == ["a5", "b5", "r10", "r12"]


async def test_claim_due_takes_the_next_tracking_steps_most_overdue_first(
    in_transaction: InTransaction,
) -> None:
    delivered = step(step(dispatched("done", 3, 5), 4.5), 6)
    returned = step(step(step(dispatched("back", 3, 9, "98765"), 4.5), 6), 7.5)
    await in_transaction(
        creating(
            booked("c0", 0, 1), booked("c2", 2, 2), booked("b1", 1, 3),
            dispatched("d1", 1, 4), dispatched("a1", 1, 6), step(dispatched("od", 0, 10), 1.5),
            delivered, returned, requested("slow", 0), opened("refused", "00100", 7),
            opened("gone", n=8).cancel("customer", NOW).shipment,
        )
    )  # fmt: skip

    async def claim(now: float, limit: int) -> list[str]:
        async def claimed_ids(store: Store) -> list[str]:
            return ids(await store.claim_due(at(now), limit))

        claimed = await in_transaction(claimed_ids)
        assert isinstance(claimed, list)
        return claimed

    assert await claim(2.4, 10) == []
    # Due at exactly now: due. a1 and d1 (dispatched at 1) are due out for delivery at
    # 2.5; c0 (created at 0) for dispatch and od (out at 1.5) for delivery at 3; b1 at 4.
    assert await claim(4, 10) == ["a1", "d1", "c0", "od", "b1"]
    assert await claim(4, 3) == ["a1", "d1", "c0"]
    assert await claim(100, 10) == ["a1", "d1", "c0", "od", "b1", "c2"]


async def test_claimed_shipments_moved_on_and_saved_are_not_claimed_again(
    in_transaction: InTransaction,
) -> None:
    await in_transaction(creating(booked("o1", 0, 1), requested("o2", 0)))

    async def tick(store: Store) -> None:
        book = ShipmentBook({})
        for shipment in await store.claim_due(at(3), 10):
            book.put(step(shipment, 3))
        for shipment in await store.claim_ready(at(3), 10):
            book.put(shipment.confirm(CARRIER.book(UUID(int=9)), at(3), TIMINGS))
        await store.save(book)

    async def claims(store: Store) -> tuple[list[str], list[str]]:
        due = await store.claim_due(at(3), 10)
        return ids(due), ids(await store.claim_ready(at(3), 10))

    await in_transaction(tick)
    assert await in_transaction(claims) == ([], [])
    book = await in_transaction(load)
    assert isinstance(book, ShipmentBook)
    assert book.shipments["o1"].status is ShipmentStatus.DISPATCHED
    assert book.shipments["o2"].status is ShipmentStatus.CREATED


async def test_rows_written_by_the_batch_store_read_back_through_the_repository(
    migrated_schema: MigratedSchema,
) -> None:
    """The timers and HTTP read shipments through SQLAlchemy: both mappings must agree."""
    db = await migrated_schema(MIGRATIONS)
    pool = await hot_pool(db.engine).pool()
    exception = step(step(dispatched("o5", 3, 5, "98765"), 4.5), 6)
    made = [
        opened("o1", n=1), opened("o2", "99501", 2), tombstone("o4", "declined", NOW), exception
    ]  # fmt: skip
    async with pool.acquire() as hot, hot.transaction():
        await creating(*made)(PgShipmentStore(hot))
        nulls = await hot.fetchval("SELECT count(*) FROM shipments WHERE address IS NULL")
    assert nulls == 1  # the tombstone's address is SQL NULL, not JSON null
    async with db.engine.connect() as conn:
        repository = ShipmentRepository(conn)
        assert [await repository.get(s.order_id) for s in made] == made
        requested = await repository.recent(ShipmentStatus.REQUESTED, 10)
    assert requested == [made[1]]
