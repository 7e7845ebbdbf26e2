"""The lag alert on real metrics (issue #13): a consumer on the real broker that is
slower than its producer; its `orderflow_consumer_lag` series (set from the broker's
offsets for the partitions it owns, as every service's runtime does every few seconds),
as the process exposes them on /metrics, are scraped once a second while the lag grows and fed to `promtool
test rules` as one scrape a minute: OrderflowConsumerLagGrowing is pending, not firing,
until the lag has stayed high and rising for ten (compressed) minutes, then fires for
that consumer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.kafka import client_options
from orderflow_messaging.lag import ConsumerLag, observe_lag
from orderflow_messaging.outbox import envelope_record, new_envelope
from orderflow_messaging.settings import ConsumerSettings, KafkaSettings
from orderflow_testing.plugin import SchemaDatabase
from orderflow_testing.promtool import rule_test, series_name

from .conftest import Harness, Pinged, make_registry, running_consumer

pytestmark = pytest.mark.integration

SCRAPES = 24  # one a second, read as one a minute: the rule's `for: 10m` and more
PRODUCE_PER_S = 400
HANDLE_SLEEP_S = 0.5  # per batch of at most 50: the consumer takes ~100 records/s
LAG = "orderflow_consumer_lag"


def lag_by_partition(consumer: str) -> dict[str, float]:
    """The consumer's lag series, from the same exposition /metrics serves."""
    text = generate_latest(REGISTRY).decode()
    return {
        sample.labels["partition"]: float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == LAG and sample.labels.get("consumer") == consumer
    }


def slow_consumer(db: SchemaDatabase, name: str) -> MessageConsumer:
    consumer = MessageConsumer(
        name=name,
        producer="test",
        registry=make_registry(),
        engine=db.engine,
        settings=ConsumerSettings(),
    )

    @consumer.handles(Pinged)
    async def on_pinged(batch: Batch, items: Sequence[Incoming[Pinged]]) -> None:
        await asyncio.sleep(HANDLE_SLEEP_S)  # a handler slower than the topic's traffic

    return consumer


async def produce_steadily(bootstrap: str, topic: str, stop: asyncio.Event) -> None:
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    n = 0
    try:
        while not stop.is_set():
            for _ in range(PRODUCE_PER_S // 10):
                n += 1
                order_id = f"lag-{n}"
                envelope = new_envelope(
                    Pinged(order_id=order_id, n=n), message_id=uuid.uuid4(),
                    at=datetime.now(UTC), producer="test", correlation_id=order_id, causation=None,
                )  # fmt: skip
                record = envelope_record(topic, envelope, order_id.encode())
                await producer.send(topic, record.value, key=record.key, headers=record.headers)
            await asyncio.sleep(0.1)
        await producer.flush()
    finally:
        await producer.stop()


def expected_alert(consumer: str, lag: float) -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "page", "consumer": consumer},
        "exp_annotations": {"summary": f"{consumer} is {lag:g} records behind and falling further"},
    }


async def test_a_consumer_falling_behind_fires_the_lag_alert(
    messaging_db: SchemaDatabase,
    kafka_bootstrap: str,
    new_topic: Callable[..., Any],
    tmp_path: Path,
) -> None:
    topic = await new_topic("lagging", partitions=3)
    name = f"lagging-{uuid.uuid4().hex[:6]}"
    h = Harness(messaging_db, KafkaSettings(bootstrap_servers=kafka_bootstrap), topic)
    scrapes: list[dict[str, float]] = []
    stop = asyncio.Event()
    lag = ConsumerLag(h.kafka)
    async with running_consumer(
        h, slow_consumer(messaging_db, name), group_id=name,
        settings=ConsumerSettings(max_records=50, batch_timeout_ms=20),
    ) as offsets:  # fmt: skip
        producing = asyncio.create_task(produce_steadily(kafka_bootstrap, topic, stop))
        try:
            for _ in range(SCRAPES):
                await asyncio.sleep(1.0)
                await observe_lag(lag, name, name, set(offsets.owned))
                scrapes.append(lag_by_partition(name))
        finally:
            stop.set()
            await producing
            await lag.close()

    partitions = sorted({p for scrape in scrapes for p in scrape})
    assert partitions, "the consumer never exposed its lag"
    totals = [sum(scrape.values()) for scrape in scrapes]
    assert totals[-1] > 1000, f"the consumer kept up ({totals}): no lag to alert on"
    labels = {"consumer": name, "job": "orderflow-test", "instance": "127.0.0.1:9999"}
    input_series = [
        {
            "series": series_name(LAG, {**labels, "topic": topic, "partition": p}),
            # A partition not yet seen in a scrape has no sample then ("_").
            "values": " ".join(f"{s[p]:g}" if p in s else "_" for s in scrapes),
        }
        for p in partitions
    ]
    last = SCRAPES - 1
    await rule_test(
        tmp_path,
        input_series,
        [
            # High and rising for less than ten minutes: pending, no page yet.
            {"eval_time": "5m", "alertname": "OrderflowConsumerLagGrowing", "exp_alerts": []},
            {
                "eval_time": f"{last}m",
                "alertname": "OrderflowConsumerLagGrowing",
                "exp_alerts": [expected_alert(name, totals[last])],
            },
        ],
    )
