"""Binding a MessageConsumer to a faststream Kafka broker, offsets after the work.

The ack policy is MANUAL and the offsets are ours: a batch's offsets are handed to the
subscriber's ``OffsetCommitter`` only when the batch is handled (``MessageConsumer.
pipeline`` calls back), i.e. after its transaction committed, and it commits them a
little later, several batches at a time (``CONSUMER_COMMIT_INTERVAL_MS``). If
``pipeline`` raises (database or broker gone), every partition of the batch is rewound
to the batch's first record and the records are fetched again. faststream's default
(ACK_FIRST) would commit before the work, and ACK would commit even on error.

The broker is created with ``apply_types=False``: a handler gets the message as it is,
without faststream's dependency injection, which resolved the message argument in a
worker thread for every poll.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage

from orderflow_messaging import metrics
from orderflow_messaging.consumer import MessageConsumer
from orderflow_messaging.kafka import broker_security, consumer_options, producer_options
from orderflow_messaging.offsets import OffsetCommitter
from orderflow_messaging.settings import ConsumerSettings, KafkaSettings


def create_broker(settings: KafkaSettings, **kwargs: Any) -> KafkaBroker:
    """A faststream broker whose own producer (unused by application code) is also safe."""
    options = producer_options(settings)
    return KafkaBroker(
        settings.bootstrap_servers,
        security=broker_security(settings),
        client_id=options.pop("client_id"),
        request_timeout_ms=options.pop("request_timeout_ms"),
        acks=options.pop("acks"),
        enable_idempotence=options.pop("enable_idempotence"),
        linger_ms=options.pop("linger_ms"),
        max_batch_size=options.pop("max_batch_size"),
        max_request_size=options.pop("max_request_size"),
        apply_types=False,
        **kwargs,
    )


async def _raw(msg: Any) -> Any:
    """The handler gets faststream's message itself (records, consumer): decoding is
    the registry's, and faststream must not choke on poison bytes."""
    return msg


async def _tolerant_parser(
    records: tuple[Any, ...], original: Callable[[Any], Awaitable[Any]]
) -> Any:
    """faststream decodes every header as UTF-8 and fails the whole batch on one bad
    header, which would stall the partition forever. Give it readable copies, then hand
    the untouched records (original header bytes, kept for dead letters) to our code."""
    readable = tuple(
        record if _readable(record.headers) else _with_readable_headers(record)
        for record in records
    )
    message = await original(readable)
    message.raw_message = records
    return message


def _readable(headers: Any) -> bool:
    """True when faststream can decode every header value as UTF-8 (nearly always)."""
    try:
        for _, value in headers:
            if value is None:
                return False
            value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _with_readable_headers(record: Any) -> Any:
    return dataclasses.replace(
        record,
        headers=tuple(
            (name, (value or b"").decode("utf-8", "replace").encode())
            for name, value in record.headers
        ),
    )


def subscribe(
    broker: KafkaBroker,
    consumer: MessageConsumer,
    *topics: str,
    group_id: str,
    settings: ConsumerSettings | None = None,
) -> OffsetCommitter:
    """Subscribe ``consumer`` to ``topics``; returns its offset committer (close it when
    the broker has stopped, to commit what is still pending)."""
    settings = settings or ConsumerSettings()
    options = consumer_options(settings)
    linger_s = settings.linger_ms / 1000
    offsets = OffsetCommitter(consumer.name, settings.commit_interval_ms / 1000)
    batch_records = metrics.CONSUMER_BATCH_RECORDS.labels(consumer.name)
    batch_seconds = metrics.CONSUMER_BATCH_SECONDS.labels(consumer.name)
    subscriber = broker.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw,
        parser=_tolerant_parser,
        listener=offsets,
        **options,
    )

    async def on_records(msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        # The message caches what ``_raw`` decoded, itself: a reference cycle that only
        # the garbage collector frees, with every record of the poll (~8 objects each)
        # and faststream's header dicts. Broken here, the poll is freed at once.
        msg.clear_cache()
        kafka_consumer = msg.consumer
        await offsets.gaps.check(kafka_consumer, records)
        started = time.perf_counter()

        async def done() -> None:
            batch_seconds.observe(time.perf_counter() - started)
            batch_records.observe(len(records))
            await offsets.handled(kafka_consumer, records)

        try:
            # A pipelined consumer may return with the batch's statement still running;
            # ``done`` comes after it committed, and only then go the offsets.
            await consumer.pipeline(records, done)
        except BaseException:
            _rewind(kafka_consumer, records)
            raise
        if linger_s and len(records) < settings.max_records:
            # The work is committed. Meanwhile the fetcher fills its buffer, so the next
            # poll is a larger batch.
            await asyncio.sleep(linger_s)

    on_records.__name__ = f"on_{consumer.name.replace('-', '_')}_records"
    subscriber(on_records)
    return offsets


def _rewind(kafka_consumer: Any, records: tuple[Any, ...]) -> None:
    """Seek every partition of the batch back to its first record: nothing after a
    record that was not handled may be skipped."""
    earliest: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        if record.offset < earliest.get(tp, record.offset + 1):
            earliest[tp] = record.offset
    for tp, offset in earliest.items():
        kafka_consumer.seek(tp, offset)
