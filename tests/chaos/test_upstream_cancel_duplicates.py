"""Scenario: an upstream system cancels its orders through the Kafka door, and every
CancelOrder arrives several times (resent with new message ids, and the very same
records published again). Each order is cancelled and compensated once, and every
answer to a reference's cancellation is the same."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaProducer

from orderflow_cli.demo_upstream import cancellation_bytes, make_upstream, submit_and_cancel
from orderflow_cli.samples import INBOUND, REPLIES
from orderflow_messaging.kafka import client_options
from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import duplicate_records, read_topics

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]


async def _resend(bootstrap: str, references: list[str], times: int) -> None:
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for _ in range(times):
            for reference in references:
                await producer.send_and_wait(
                    INBOUND, cancellation_bytes(reference), key=reference.encode()
                )
    finally:
        await producer.stop()


def test_duplicate_upstream_cancellations_cancel_once_and_answer_alike(cluster: Cluster) -> None:
    orders = make_upstream(12, "chaos")
    for order in orders:
        order.cancel = True
    asyncio.run(submit_and_cancel(cluster.bootstrap, orders, timeout_s=90))
    assert all(o.order_id for o in orders), [o.answers for o in orders]
    references = [o.reference for o in orders]
    asyncio.run(_resend(cluster.bootstrap, references, times=2))  # resent: new message ids
    own = {reference.encode() for reference in references}
    copied = duplicate_records(cluster.bootstrap, INBOUND, fraction=0.5, copies=(1, 3), keys=own)
    assert copied > 0

    report = cluster.settle(timeout=150)
    assert_verified(report)
    assert report["stats"]["orders"].get("CANCELLED", 0) >= len(orders)

    answers: dict[str, list[str]] = defaultdict(list)
    for record in read_topics(cluster.bootstrap, [REPLIES], 60):
        reference = (record.key or b"").decode()
        reply = json.loads(record.value)
        if reference in references and reply["type"].startswith("OrderCancellation"):
            answers[reference].append(reply["type"])
    for reference in references:
        # The first cancellation and the two resends answered, all alike; the copies of
        # the same records were dropped by checkout's inbox (or answered alike too).
        assert len(answers[reference]) >= 3, (reference, answers[reference])
        assert set(answers[reference]) == {"OrderCancellationAccepted"}, answers[reference]
