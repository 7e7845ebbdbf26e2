"""Kafka client settings that do not lose or duplicate data, and bounded lifecycles.

aiokafka's defaults are acks=1 without idempotence (a leader failover can drop or
reorder acknowledged writes) and auto-commit on (an offset can be committed before the
work is done). Everything in orderflow is built from here instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from orderflow_messaging.settings import ConsumerSettings, KafkaSettings


def producer_options(settings: KafkaSettings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.linger_ms,
        "max_batch_size": settings.max_batch_size,
        "max_request_size": settings.max_request_size,
        "request_timeout_ms": settings.request_timeout_ms,
    }


def consumer_options(settings: ConsumerSettings) -> dict[str, Any]:
    """Options for faststream's subscriber (auto-commit is disabled by the ack policy)."""
    return {
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "max_records": settings.max_records,
        "batch_timeout_ms": settings.batch_timeout_ms,
        "isolation_level": "read_committed",
        "fetch_min_bytes": settings.fetch_min_bytes,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
    }


async def start_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(**producer_options(settings))
    try:
        await asyncio.wait_for(producer.start(), settings.lifecycle_timeout_s)
    except BaseException:
        await stop_producer(producer, settings)
        raise
    return producer


async def stop_producer(producer: AIOKafkaProducer, settings: KafkaSettings) -> None:
    """Flush and stop, but never wait longer than the lifecycle timeout."""
    try:
        await asyncio.wait_for(producer.stop(), settings.lifecycle_timeout_s)
    except TimeoutError:
        # Unsent records are still in the outbox (not marked), so nothing is lost.
        pass
