"""Create topics (and their dead-letter twins) if missing; partition count is config."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from orderflow_messaging.dead_letter import dlq_topic
from orderflow_messaging.settings import KafkaSettings


async def ensure_topics(
    settings: KafkaSettings, topics: Iterable[str], *, partitions: int, with_dlq: bool = True
) -> None:
    names = sorted({n for t in topics for n in ((t, dlq_topic(t)) if with_dlq else (t,))})
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=settings.request_timeout_ms,
    )
    await asyncio.wait_for(admin.start(), settings.lifecycle_timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another replica created them first
    finally:
        await admin.close()
