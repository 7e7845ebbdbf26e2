"""Kafka client settings that do not lose or duplicate data, and bounded lifecycles.

aiokafka's defaults are acks=1 without idempotence (a leader failover can drop or
reorder acknowledged writes) and auto-commit on (an offset can be committed before the
work is done). Everything in orderflow is built from here instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from orderflow_messaging.settings import ConsumerSettings, KafkaSettings


def connection_options(settings: KafkaSettings) -> dict[str, Any]:
    """Where the broker is and who this client is: every aiokafka client is built on these."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    if settings.security_protocol == "PLAINTEXT":
        return options
    assert settings.sasl_password is not None  # KafkaSettings refuses a login without one
    options |= {
        "security_protocol": settings.security_protocol,
        "sasl_mechanism": settings.sasl_mechanism,
        "sasl_plain_username": settings.sasl_username,
        "sasl_plain_password": settings.sasl_password.get_secret_value(),
    }
    if settings.security_protocol == "SASL_SSL":
        options["ssl_context"] = create_ssl_context()  # the system's CAs
    return options


def client_options(bootstrap: str) -> dict[str, Any]:
    """``connection_options`` for a bootstrap address and this process's login
    (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``): what tools and tests use."""
    return connection_options(KafkaSettings(bootstrap_servers=bootstrap))


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """The same login for a faststream broker (which builds its own clients)."""
    if settings.security_protocol == "PLAINTEXT":
        return None
    assert settings.sasl_username is not None
    assert settings.sasl_password is not None
    kind = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    cls = kind.get(settings.sasl_mechanism, SASLPlaintext)
    ssl = settings.security_protocol == "SASL_SSL"
    return cls(
        settings.sasl_username,
        settings.sasl_password.get_secret_value(),
        ssl_context=create_ssl_context() if ssl else None,
        use_ssl=ssl,
    )


def producer_options(settings: KafkaSettings) -> dict[str, Any]:
    return {
        **connection_options(settings),
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
