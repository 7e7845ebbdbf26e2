"""Reliable messaging for orderflow services: transactional outbox, inbox, batch
consumers, dead letters and the outbox relay.

What a service may import is listed in ``__all__``; the modules behind it (relay,
subscriber, kafka, ...) are for the service runtime (``orderflow_service``) and tests.
"""

from orderflow_messaging.clock import Clock, FixedClock, IdFactory, SequentialIds, utc_now
from orderflow_messaging.consumer import (
    Batch,
    BatchHandler,
    Incoming,
    MessageConsumer,
    batch_consumer,
)
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.db import Connection, create_engine, hot_pool
from orderflow_messaging.envelope import Envelope, SourceCoordinates
from orderflow_messaging.errors import (
    PermanentFailure,
    PoisonMessage,
    ReasonCode,
    TransientFailure,
)
from orderflow_messaging.outbox import BatchOutbox, Outbox, OutgoingRecord
from orderflow_messaging.registry import Message, MessageRegistry
from orderflow_messaging.settings import ConsumerSettings, KafkaSettings

__all__ = [
    "Batch",
    "BatchHandler",
    "BatchOutbox",
    "Clock",
    "Connection",
    "ConsumerSettings",
    "Envelope",
    "FixedClock",
    "IdFactory",
    "Incoming",
    "KafkaSettings",
    "Message",
    "MessageConsumer",
    "MessageRegistry",
    "Outbox",
    "OutgoingRecord",
    "PermanentFailure",
    "PoisonMessage",
    "ReasonCode",
    "SequentialIds",
    "SourceCoordinates",
    "TransientFailure",
    "batch_consumer",
    "crashpoint",
    "create_engine",
    "hot_pool",
    "utc_now",
]
