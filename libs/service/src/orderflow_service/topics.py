"""Create topics (and their dead-letter twins) if missing; partition count is config."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from orderflow_contracts.topics import COMPACTED
from orderflow_messaging.dead_letter import DLQ_SUFFIX, dlq_topic
from orderflow_messaging.kafka import connection_options
from orderflow_messaging.settings import KafkaSettings


async def ensure_topics(
    settings: KafkaSettings, topics: Iterable[str], *, partitions: int, with_dlq: bool = True
) -> None:
    names = sorted({n for t in topics for n in ((t, dlq_topic(t)) if with_dlq else (t,))})
    admin = AIOKafkaAdminClient(
        **connection_options(settings),
        request_timeout_ms=settings.request_timeout_ms,
    )
    await asyncio.wait_for(admin.start(), settings.lifecycle_timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            try:
                await admin.create_topics([_new_topic(n, partitions, settings) for n in missing])
            except TopicAlreadyExistsError:
                pass  # another replica created them first
    finally:
        await admin.close()


async def retention_ms(settings: KafkaSettings, topics: Iterable[str]) -> dict[str, int]:
    """Each topic's ``retention.ms`` as the broker reports it (its own, or the broker's
    default); -1 means forever."""
    admin = AIOKafkaAdminClient(
        **connection_options(settings),
        request_timeout_ms=settings.request_timeout_ms,
    )
    await asyncio.wait_for(admin.start(), settings.lifecycle_timeout_s)
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(set(topics))]
        )
    finally:
        await admin.close()
    found: dict[str, int] = {}
    for response in responses:
        for _error, _message, _type, name, entries in response.resources:
            for entry in entries:
                if entry[0] == "retention.ms":
                    found[name] = int(entry[1])
    return found


def topic_configs(name: str, settings: KafkaSettings) -> dict[str, str]:
    """What a topic is created with besides the broker's defaults."""
    if name.endswith(DLQ_SUFFIX):
        # A dead letter is larger than the record it copies (DLQ_HEADROOM_BYTES): its
        # topic takes whatever the relay may send (found by tests/chaos/test_poison_matrix).
        return {"max.message.bytes": str(settings.max_request_size)}
    if name in COMPACTED:
        # A state topic: the latest record of each key is kept whatever its age.
        return {"cleanup.policy": "compact"}
    return {}


def _new_topic(name: str, partitions: int, settings: KafkaSettings) -> NewTopic:
    configs = topic_configs(name, settings)
    return NewTopic(name, partitions, replication_factor=1, topic_configs=configs or None)
