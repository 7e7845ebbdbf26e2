"""Binding a MessageConsumer to a faststream Kafka broker with an explicit ack policy.

NACK_ON_ERROR: the offset is committed (ack) only when ``MessageConsumer.process``
returns, i.e. after its transaction committed; if it raises (database or broker gone),
faststream seeks back to the batch start and the records are fetched again. faststream's
default (ACK_FIRST) would commit before the work, and ACK would commit even on error.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from orderflow_messaging.consumer import MessageConsumer
from orderflow_messaging.kafka import consumer_options, producer_options
from orderflow_messaging.settings import ConsumerSettings, KafkaSettings


def create_broker(settings: KafkaSettings, **kwargs: Any) -> KafkaBroker:
    """A faststream broker whose own producer (unused by application code) is also safe."""
    options = producer_options(settings)
    return KafkaBroker(
        options.pop("bootstrap_servers"),
        client_id=options.pop("client_id"),
        request_timeout_ms=options.pop("request_timeout_ms"),
        acks=options.pop("acks"),
        enable_idempotence=options.pop("enable_idempotence"),
        linger_ms=options.pop("linger_ms"),
        max_batch_size=options.pop("max_batch_size"),
        max_request_size=options.pop("max_request_size"),
        **kwargs,
    )


async def _raw(msg: Any) -> Any:
    """Leave decoding to the registry: faststream must not choke on poison bytes."""
    return msg.body


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
) -> None:
    settings = settings or ConsumerSettings()
    options = consumer_options(settings)
    linger_s = settings.linger_ms / 1000
    subscriber = broker.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw,
        parser=_tolerant_parser,
        **options,
    )

    async def on_records(msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        await consumer.process(records)
        if linger_s and len(records) < settings.max_records:
            # The work is committed; its offsets follow when this returns. Meanwhile
            # the fetcher fills its buffer, so the next poll is a larger batch.
            await asyncio.sleep(linger_s)

    on_records.__name__ = f"on_{consumer.name.replace('-', '_')}_records"
    subscriber(on_records)
