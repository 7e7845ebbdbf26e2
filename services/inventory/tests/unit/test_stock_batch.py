"""The inventory batch use case on the in-memory store: decisions in message order,
each reply queued in order, the store written once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inventory.adapters.batch_store import MemoryStockStore
from inventory.application.batch import handle_commands
from inventory.domain.model import ReservationStatus, StockItem
from orderflow_contracts import topics
from orderflow_contracts.common import StockLine
from orderflow_contracts.inventory import (
    CommitStock,
    ReleaseStock,
    ReserveStock,
    RestockReturn,
    ReturnedLine,
)
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.outbox import BatchOutbox
from orderflow_testing.batches import incoming

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TTL = timedelta(minutes=30)


class CountingStore(MemoryStockStore):
    saves: int = 0

    async def save(self, book: Any) -> None:
        self.saves += 1
        await super().save(book)


def reserve(order_id: str, **lines: int) -> ReserveStock:
    return ReserveStock(
        order_id=order_id, lines=[StockLine(sku=s, quantity=q) for s, q in lines.items()]
    )


async def run(store: MemoryStockStore, *commands: Any) -> list[str]:
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="inventory", clock=clock)
    batch = Batch(None, outbox, clock)  # type: ignore[arg-type]
    await handle_commands(store, batch, [incoming(c, n=n) for n, c in enumerate(commands)], TTL)
    return [r.message_type or "" for r in outbox.records()]


async def test_a_batch_is_folded_in_message_order_and_saved_once() -> None:
    store = CountingStore(stock={"A": StockItem("A", 3, 3)})
    replies = await run(
        store,
        reserve("o1", A=2),
        reserve("o2", A=2),  # only 1 left after o1
        reserve("o1", A=2),  # a resend: answered again, no second effect
        CommitStock(order_id="o1"),
        ReleaseStock(order_id="o3", reason="cancelled"),  # before its reserve
        reserve("o3", A=1),
    )
    assert replies == [
        "StockReserved", "StockReservationFailed", "StockReserved",
        "StockCommitted", "StockReleased", "StockReservationFailed",
        "StockLevelChanged",  # A's level once, after the batch's replies
    ]  # fmt: skip
    assert store.saves == 1
    assert store.stock["A"] == StockItem("A", 3, 1, 0, 2, revision=1)
    assert store.reservations["o1"].status is ReservationStatus.COMMITTED
    assert store.reservations["o2"].status is ReservationStatus.REJECTED
    assert store.reservations["o3"].status is ReservationStatus.RELEASED


async def test_releasing_a_committed_order_restocks_it() -> None:
    store = MemoryStockStore(stock={"A": StockItem("A", 3, 3)})
    await run(store, reserve("o1", A=2), CommitStock(order_id="o1"))
    await run(store, ReleaseStock(order_id="o1", reason="refund"))
    assert store.stock["A"] == StockItem("A", 3, 3, 0, 0, revision=2)


async def test_committing_what_was_never_reserved_fails_the_batch() -> None:
    store = CountingStore(stock={"A": StockItem("A", 3, 3)})
    with pytest.raises(PermanentFailure, match="missing"):
        await run(store, reserve("o1", A=1), CommitStock(order_id="o2"))
    assert store.saves == 0  # nothing written: the consumer retries the records alone


async def test_a_level_is_announced_only_when_the_available_quantity_changed() -> None:
    store = MemoryStockStore(stock={"A": StockItem("A", 5, 5), "B": StockItem("B", 2, 2)})
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="inventory", clock=clock)
    batch = Batch(None, outbox, clock)  # type: ignore[arg-type]
    commands = [reserve("o1", A=1, B=2), reserve("o2", A=3), reserve("o3", B=1)]
    await handle_commands(store, batch, [incoming(c, n=n) for n, c in enumerate(commands)], TTL)
    levels = [r for r in outbox.records() if r.topic == topics.INVENTORY_STOCK]
    assert [(r.key, r.message_type) for r in levels] == [
        (b"A", "StockLevelChanged"), (b"B", "StockLevelChanged")
    ]  # fmt: skip
    assert store.stock == {"A": StockItem("A", 5, 1, 4, revision=1),
                           "B": StockItem("B", 2, 0, 2, revision=1)}  # fmt: skip
    # Only commits: rows written (the revision grows), no available quantity changed.
    replies = await run(store, CommitStock(order_id="o1"), CommitStock(order_id="o2"))
    assert replies == ["StockCommitted", "StockCommitted"]
    assert store.stock["A"] == StockItem("A", 5, 1, 0, 4, revision=2)


def restock(return_id: str, order_id: str, *lines: tuple[str, int, str]) -> RestockReturn:
    return RestockReturn(
        return_id=return_id,
        order_id=order_id,
        lines=[
            ReturnedLine.model_validate({"sku": s, "quantity": q, "disposition": d})
            for s, q, d in lines
        ],
    )


R1, R2, R3 = "R-0000000000000001", "R-0000000000000002", "R-0000000000000003"


async def test_a_returns_goods_are_restocked_or_written_off_once_and_never_more_than_committed() -> (
    None
):
    store = MemoryStockStore(stock={"A": StockItem("A", 5, 5), "B": StockItem("B", 2, 2)})
    await run(store, reserve("o1", A=3, B=1), CommitStock(order_id="o1"))
    replies = await run(
        store,
        restock(R1, "o1", ("A", 1, "restock"), ("B", 1, "write_off")),
        restock(R1, "o1", ("A", 1, "restock"), ("B", 1, "write_off")),  # a resend
    )
    assert replies == ["ReturnRestocked", "ReturnRestocked", "StockLevelChanged"]
    assert store.stock["A"] == StockItem("A", 5, 3, 0, 2, revision=2)  # back on the shelf
    assert store.stock["B"] == StockItem("B", 1, 1, 0, 0, revision=2)  # left the stock
    assert all(item.conserved for item in store.stock.values())
    assert await run(store, restock(R2, "o1", ("A", 2, "restock"))) == [
        "ReturnRestocked", "StockLevelChanged"
    ]  # fmt: skip
    with pytest.raises(PermanentFailure, match="more A than the order committed"):
        await run(store, restock(R3, "o1", ("A", 1, "restock")))
    with pytest.raises(PermanentFailure, match="the order's stock is missing"):
        await run(store, restock(R3, "o9", ("A", 1, "restock")))
    assert sorted(store.receipts) == [R1, R2]
