"""A fetched batch is handled in lanes by partition number: in order within a lane, lanes
at once (bounded), and the batch returns (so offsets may be committed) only after every
lane finished."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from orderflow_messaging.consumer import MessageConsumer, _Item, _lanes
from orderflow_messaging.registry import MessageRegistry
from orderflow_messaging.settings import ConsumerSettings


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None = b"k"
    value: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def records(spec: list[tuple[str, int, int]]) -> list[FakeRecord]:
    return [FakeRecord(topic, partition, offset) for topic, partition, offset in spec]


def consumer(name: str = "orders", **settings: int) -> MessageConsumer:
    return MessageConsumer(
        name=name,
        producer="test",
        registry=MessageRegistry(),
        engine=None,  # type: ignore[arg-type]  # never reached: _process_items is replaced
        settings=ConsumerSettings(**settings),
    )


def coordinates(items: list[_Item]) -> list[tuple[str, int, int]]:
    return [(i.source.topic, i.source.partition, i.source.offset) for i in items]


def test_lanes_group_by_partition_number_keep_order_and_cut_chunks() -> None:
    c = consumer()
    batch = records([("a", 0, 1), ("a", 1, 1), ("b", 0, 7), ("a", 0, 2), ("a", 0, 3), ("b", 1, 4)])
    items = [c._decode(r) for r in batch]
    lanes = _lanes(items, chunk=2)
    assert [[coordinates(chunk) for chunk in lane] for lane in lanes] == [
        [[("a", 0, 1), ("b", 0, 7)], [("a", 0, 2), ("a", 0, 3)]],
        [[("a", 1, 1), ("b", 1, 4)]],
    ]


async def test_lanes_run_at_once_in_order_within_a_lane() -> None:
    c = consumer(partition_concurrency=2, transaction_max_records=1)
    done: list[tuple[str, int, int]] = []
    running = 0
    peak = 0

    async def fake(items: list[_Item]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        done.extend(coordinates(items))
        running -= 1

    c._process_items = fake  # type: ignore[method-assign]
    await c.process(records([("t", p, o) for o in range(3) for p in range(4)]))
    assert len(done) == 12
    assert peak == 2
    for p in range(4):
        assert [o for _, q, o in done if q == p] == [0, 1, 2]


async def test_a_failing_lane_is_raised_only_after_every_lane_finished() -> None:
    c = consumer(partition_concurrency=4)
    finished: list[int] = []

    async def fake(items: list[_Item]) -> None:
        partition = items[0].source.partition
        if partition == 0:
            raise RuntimeError("database gone")
        await asyncio.sleep(0.02)
        finished.append(partition)

    c._process_items = fake  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="database gone"):
        await c.process(records([("t", 0, 1), ("t", 1, 1), ("t", 2, 1)]))
    assert sorted(finished) == [1, 2]


async def test_an_empty_batch_does_nothing() -> None:
    c = consumer()
    await c.process([])


async def test_lanes_of_a_consumer_not_named_concurrent_run_one_at_a_time() -> None:
    c = consumer("inventory", partition_concurrency=4)
    running = 0
    peak = 0

    async def fake(items: list[_Item]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    c._process_items = fake  # type: ignore[method-assign]
    await c.process(records([("t", p, 1) for p in range(4)]))
    assert peak == 1
