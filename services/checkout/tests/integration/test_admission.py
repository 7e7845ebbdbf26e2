"""Admission control at the HTTP door, on the real PostgreSQL and Kafka: past a bound,
POST /orders answers 503 with Retry-After and the reason, and stores nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.entrypoints.admission import Admission, Backlog, BacklogReader, Bounds
from orderflow_cli.placing import post_order
from orderflow_messaging.db import hot_pool
from orderflow_messaging.kafka import client_options
from orderflow_messaging.lag import ConsumerLag
from orderflow_messaging.settings import KafkaSettings
from orderflow_testing.plugin import MigratedSchema, TopicFactory

from .checkout_app import BODY, open_checkout

pytestmark = pytest.mark.integration

BOUNDS = Bounds(max_outbox=2, max_coordinator_lag=5, max_in_flight=50, retry_after_s=3)


def reading(
    lag: ConsumerLag, topic: str, door: list[Admission]
) -> Callable[[AsyncEngine], Admission]:
    """An admission over the real backlog reader: checkout's outbox, and a fresh
    coordinator group's lag on ``topic``; the one built is kept in ``door``."""

    def admission(engine: AsyncEngine) -> Admission:
        reader = BacklogReader(lag, group=f"coordinator-{uuid.uuid4().hex[:8]}", topic=topic)
        pool = hot_pool(engine)

        async def sample() -> Backlog:
            async with (await pool.pool()).acquire() as conn:
                return await reader.read(conn)

        door.append(Admission(BOUNDS, sample))
        return door[0]

    return admission


async def test_refused_past_the_outbox_bound_with_retry_after_and_nothing_stored(
    migrated_schema: MigratedSchema, kafka_bootstrap: str, new_topic: TopicFactory
) -> None:
    topic = await new_topic("placed", partitions=1, with_dlq=False)
    lag = ConsumerLag(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    door: list[Admission] = []
    admission = reading(lag, topic, door)

    try:
        async with open_checkout(migrated_schema, admission) as checkout:
            for n in range(3):  # three orders placed, none published yet: over the bound
                assert (await checkout.place(key=f"k{n}")).status_code == 202
            await door[0].tick()
            refused = await checkout.place(key="k-late")
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "3"
            [problem] = refused.json()["detail"]
            assert "3 placed orders wait to be published (bound 2)" in problem["reason"]
            assert await checkout.count("orders") == 3
            assert await checkout.count("outbox") == 3

            async with checkout.engine.begin() as conn:  # the relay caught up
                await conn.exec_driver_sql("DELETE FROM outbox_pending")
            await door[0].tick()
            assert (await checkout.place(key="k-late")).status_code == 202
            assert await checkout.count("orders") == 4
    finally:
        await lag.close()


async def test_refused_while_the_coordinator_lags(
    migrated_schema: MigratedSchema, kafka_bootstrap: str, new_topic: TopicFactory
) -> None:
    topic = await new_topic("placed", partitions=2, with_dlq=False)
    producer = AIOKafkaProducer(**client_options(kafka_bootstrap))
    await producer.start()
    try:
        for n in range(8):  # published, never consumed by the (unborn) coordinator group
            await producer.send(topic, b"x", partition=n % 2)
        await producer.flush()
    finally:
        await producer.stop()
    lag = ConsumerLag(KafkaSettings(bootstrap_servers=kafka_bootstrap))
    door: list[Admission] = []
    admission = reading(lag, topic, door)

    try:
        async with open_checkout(migrated_schema, admission) as checkout:
            await door[0].tick()
            refused = await checkout.place(key="k1")
            assert refused.status_code == 503
            [problem] = refused.json()["detail"]
            assert "8 placed orders wait for the saga coordinator (bound 5)" in problem["reason"]
            assert await checkout.count("orders") == 0
            # Bad input is still told what is wrong with it, not to come back later.
            assert (await checkout.place(key=None)).status_code == 400
    finally:
        await lag.close()


async def test_a_burst_past_the_in_flight_bound_gets_503s_and_loses_nothing(
    migrated_schema: MigratedSchema,
) -> None:
    """200 requests at once against a door that takes 20 at a time: every answer is a
    202 or a 503 with Retry-After (no other error, no timeout); the refused ones, sent
    again after the advised wait with the same key, are all placed; every accepted order
    is stored with its OrderPlaced row, once."""
    bounds = Bounds(max_outbox=10**6, max_coordinator_lag=10**6, max_in_flight=20, retry_after_s=1)

    async def quiet() -> Backlog:
        return Backlog(0, 0)

    async with open_checkout(migrated_schema, lambda _engine: Admission(bounds, quiet)) as checkout:
        keys = [f"burst-{n}" for n in range(200)]
        answers = await asyncio.gather(*(checkout.place(key=key) for key in keys))
        statuses = Counter(answer.status_code for answer in answers)
        assert set(statuses) == {202, 503}, statuses
        refused = [
            key for key, answer in zip(keys, answers, strict=True) if answer.status_code == 503
        ]
        assert all(
            answer.headers["Retry-After"] == "1" for answer in answers if answer.status_code == 503
        )

        again = await asyncio.gather(
            *(post_order(checkout.client, "/orders", BODY, key, budget_s=30) for key in refused)
        )
        assert {placement.response.status_code for placement in again} == {202}
        assert await checkout.count("orders") == 200
        assert await checkout.count("outbox") == 200
