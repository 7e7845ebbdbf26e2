"""Serialization failures and deadlocks are the database's, not the message's: the batch
is retried with backoff (the subscriber rewinds) and never dead-lettered, however often
it happens (RELIABILITY.md, "Injected serialization failures and deadlocks")."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.settings import ConsumerSettings

from .conftest import Harness, Pinged, eventually, make_registry, running_consumer, running_relay


def conflicting_consumer(harness: Harness, sqlstate: str, failures: int) -> MessageConsumer:
    """A handler whose first ``failures`` transactions fail in PostgreSQL itself with
    ``sqlstate`` (a real server error, raised by PL/pgSQL), then succeed."""
    consumer = MessageConsumer(
        name="conflicts",
        producer="test",
        registry=make_registry(),
        engine=harness.engine,
        # max_attempts is far below the number of failures: were they counted as the
        # message's failures, it would be dead-lettered.
        settings=ConsumerSettings(max_attempts=2, backoff_initial_s=0.05, backoff_max_s=0.1),
    )
    left = {"failures": failures}

    @consumer.handles(Pinged)
    async def on_pinged(batch: Batch, items: Sequence[Incoming[Pinged]]) -> None:
        if left["failures"] > 0:
            left["failures"] -= 1
            await batch.conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'injected conflict' "
                f"USING ERRCODE = '{sqlstate}'; END $$"
            )
        for item in items:
            await batch.conn.execute(
                "INSERT INTO effects (message_id, order_id, n) VALUES ($1, $2, $3)",
                item.envelope.message_id, item.message.order_id, item.message.n,
            )  # fmt: skip

    return consumer


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"], ids=["serialization", "deadlock"])
async def test_conflicts_are_retried_never_dead_lettered(harness: Harness, sqlstate: str) -> None:
    await harness.put("order-1", 1)
    await harness.put("order-2", 2)
    consumer = conflicting_consumer(harness, sqlstate, failures=5)
    async with (
        running_relay(harness),
        running_consumer(harness, consumer, group_id=f"conflicts-{sqlstate}"),
    ):

        async def both_applied() -> bool:
            return sorted(await harness.effects()) == [("order-1", 1), ("order-2", 2)]

        await eventually(both_applied, timeout=60)

    assert await harness.scalar("SELECT count(*) FROM inbox WHERE status = 'dead_lettered'") == 0
    assert await harness.scalar("SELECT count(*) FROM outbox WHERE topic LIKE '%.dlq'") == 0
    assert await harness.scalar("SELECT count(*) FROM delivery_attempts") == 0
