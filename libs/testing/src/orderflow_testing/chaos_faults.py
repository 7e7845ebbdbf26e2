"""Delivery faults on the topics (duplicates, rewinds) and effect snapshots from the
database, for chaos tests. Synchronous wrappers: each runs its own event loop."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from orderflow_messaging.kafka import client_options


def read_topics(
    bootstrap: str,
    topics: Iterable[str],
    timeout: float = 60.0,
    keep: Callable[[Any], Any] = lambda record: record,
) -> list[Any]:
    """Every record of ``topics`` up to the end offsets taken at the start (no group),
    each as ``keep`` makes it (a digest instead of megabytes of value, say)."""

    async def run() -> list[Any]:
        admin = AIOKafkaAdminClient(**client_options(bootstrap))
        await asyncio.wait_for(admin.start(), 30)
        try:
            described = await admin.describe_topics(sorted(set(topics)))
        finally:
            await admin.close()
        parts = [TopicPartition(d["topic"], p["partition"]) for d in described
                 for p in d["partitions"]]  # fmt: skip
        consumer = AIOKafkaConsumer(
            **client_options(bootstrap), group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024,
        )  # fmt: skip
        await asyncio.wait_for(consumer.start(), 30)
        try:
            consumer.assign(parts)
            ends = await consumer.end_offsets(parts)
            await consumer.seek_to_beginning(*parts)
            return await _drain(consumer, {tp: n for tp, n in ends.items() if n}, deadline, keep)
        finally:
            await consumer.stop()

    deadline = time.monotonic() + timeout
    return asyncio.run(run())


async def _drain(
    consumer: AIOKafkaConsumer, ends: dict[Any, int], deadline: float, keep: Callable[[Any], Any]
) -> list[Any]:
    found: list[Any] = []
    while ends:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not read to the end in time: {sorted(ends)}")
        for tp, batch in (await consumer.getmany(*ends, timeout_ms=500)).items():
            found += [keep(r) for r in batch if r.offset < ends.get(tp, -1)]
        for tp in list(ends):
            if await consumer.position(tp) >= ends[tp]:
                del ends[tp]
    return found


def duplicate_records(
    bootstrap: str, topic: str, *, fraction: float = 0.2, copies: tuple[int, int] = (1, 1),
    seed: int = 7, timeout: float = 60.0, keys: Collection[bytes] | None = None,
) -> int:  # fmt: skip
    """Re-publish a ``fraction`` sample of the records already on ``topic`` (same key,
    value and headers), each ``copies`` (min, max) times; return how many were sent.
    ``keys``: only records with one of these keys (a scenario's own, not what earlier
    scenarios left on a shared topic, such as the poison matrix's oversized record)."""
    records = [r for r in read_topics(bootstrap, [topic], timeout) if keys is None or r.key in keys]
    return asyncio.run(_duplicate(bootstrap, topic, records, fraction, copies, seed, timeout))


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions (a producer waits for their metadata; a consumer does not)."""
    producer = AIOKafkaProducer(**client_options(bootstrap))
    await asyncio.wait_for(producer.start(), 30)
    try:
        found = await asyncio.wait_for(producer.partitions_for(topic), 30)
    finally:
        await producer.stop()
    if not found:
        raise RuntimeError(f"topic {topic} has no partitions")
    return sorted(found)


async def _duplicate(
    bootstrap: str, topic: str, records: list[Any], fraction: float, copies: tuple[int, int],
    seed: int, budget_s: float,
) -> int:  # fmt: skip
    rng = random.Random(seed)
    sample = [r for r in records if rng.random() < fraction]
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", request_timeout_ms=15000)
    await asyncio.wait_for(producer.start(), 30)
    sent = 0
    try:
        for record in sample:
            for _ in range(rng.randint(*copies)):
                await producer.send(
                    topic,
                    value=record.value,
                    key=record.key,
                    headers=list(record.headers),
                    partition=record.partition,
                )
                sent += 1
        await asyncio.wait_for(producer.flush(), budget_s)
    finally:
        await producer.stop()
    return sent


def rewind_group(bootstrap: str, group: str, topic: str, by: int) -> dict[int, tuple[int, int]]:
    """Move ``group``'s committed offsets on ``topic`` back by ``by`` per partition (not
    below 0). The group must have no live member (stop the service first). Returns
    {partition: (old, new)}."""
    return asyncio.run(_rewind(bootstrap, group, topic, by))


async def _rewind(bootstrap: str, group: str, topic: str, by: int) -> dict[int, tuple[int, int]]:
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=group, enable_auto_commit=False
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        parts = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        consumer.assign(parts)
        moved: dict[int, tuple[int, int]] = {}
        offsets = {}
        for tp in parts:
            old = await consumer.committed(tp)
            if old is None:
                continue
            new = max(0, old - by)
            moved[tp.partition] = (old, new)
            offsets[tp] = new
        if offsets:
            await consumer.commit(offsets)
        return moved
    finally:
        await consumer.stop()


# ---- the effects the system promises to apply exactly once --------------------------
EFFECT_QUERIES = {
    "gateway_ledger": "SELECT count(*) AS n FROM payment.gateway_ledger",
    "captures": "SELECT count(*) AS n FROM payment.gateway_ledger WHERE kind = 'capture'",
    "stock_items": "SELECT sku, initial, available, reserved, committed "
    "FROM inventory.stock_items ORDER BY sku",
    "reservations": "SELECT order_id, status FROM inventory.reservations ORDER BY order_id",
    "shipments": "SELECT order_id FROM shipping.shipments ORDER BY order_id",
}


def query(admin_url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(admin_url, timeout=10)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args, timeout=30)]
        finally:
            await conn.close()

    return asyncio.run(run())


def effects(admin_url: str) -> dict[str, list[dict[str, Any]]]:
    """A snapshot of every effect table: compare two of them for equality."""
    return {name: query(admin_url, sql) for name, sql in EFFECT_QUERIES.items()}


def stable_effects(admin_url: str, timeout: float = 30.0) -> dict[str, list[dict[str, Any]]]:
    """The effect tables once nothing moves any more (shipments dispatch on a timer)."""
    deadline = time.monotonic() + timeout
    before = effects(admin_url)
    while time.monotonic() < deadline:
        time.sleep(3)
        now = effects(admin_url)
        if now == before:
            return now
        before = now
    raise AssertionError("the effect tables never stopped changing")


def inbox_duplicates(admin_url: str, *schemas: str) -> int:
    total = 0
    for schema in schemas:
        rows = query(
            admin_url,
            f"SELECT coalesce(sum(duplicates), 0)::bigint AS n FROM {schema}.inbox",  # noqa: S608
        )
        total += int(rows[0]["n"])
    return total


# ---- consumer groups ------------------------------------------------------------------
def rewind_every_group_to_start(bootstrap: str) -> dict[str, int]:
    """Commit offset 0 on every partition every consumer group has committed on: a
    replay of the whole history to every consumer. The groups must have no live member
    (stop the services first). Returns {group: records rewound}."""
    return asyncio.run(_rewind_all(bootstrap))


async def _rewind_all(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await asyncio.wait_for(admin.start(), 30)
    try:
        groups = [g[0] for g in await admin.list_consumer_groups()]
        committed = {g: await admin.list_consumer_group_offsets(g) for g in groups}
    finally:
        await admin.close()
    rewound: dict[str, int] = {}
    for group, offsets in committed.items():
        moved = {tp: meta.offset for tp, meta in offsets.items() if meta.offset > 0}
        if moved:
            await _commit(bootstrap, group, dict.fromkeys(moved, 0))
            rewound[group] = sum(moved.values())
    return rewound


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=group, enable_auto_commit=False
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


def wait_members(bootstrap: str, group: str, count: int, timeout: float = 90.0) -> None:
    """Wait (bounded) until ``group`` has exactly ``count`` consumers."""
    deadline = time.monotonic() + timeout
    while (found := group_members(bootstrap, group)) != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} has {found} members, not {count}")
        time.sleep(1.0)


def group_members(bootstrap: str, group: str) -> int:
    """How many consumers the group has now (0 when it is empty or unknown)."""

    async def run() -> int:
        admin = AIOKafkaAdminClient(**client_options(bootstrap))
        await asyncio.wait_for(admin.start(), 30)
        try:
            (response,) = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
        # DescribeGroups v2: groups = [(error, group_id, state, protocol_type, protocol,
        # members, ...)]
        (found,) = response.groups
        return len(found[5])

    return asyncio.run(run())
