"""The queues that decide whether a participant is held (application/deadline_holds.py),
sampled from the broker (consumer groups' committed offsets against the end offsets)
and from our own outbox (rows not yet published)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from orderflow_contracts import topics
from orderflow_messaging.db import Connection
from orderflow_messaging.settings import KafkaSettings
from orders.application.deadline_holds import QueueSample

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Queue:
    """Records of ``topic`` waiting for consumer group ``group``."""

    group: str
    topic: str


# Per participant: its commands waiting for it, its replies waiting for the coordinator.
QUEUES: Mapping[str, tuple[Queue, ...]] = {
    "inventory": (
        Queue("inventory", topics.INVENTORY_COMMANDS),
        Queue("orders", topics.INVENTORY_EVENTS),
    ),
    "payment": (Queue("payment", topics.PAYMENT_COMMANDS), Queue("orders", topics.PAYMENT_EVENTS)),
    "shipping": (
        Queue("shipping", topics.SHIPPING_COMMANDS),
        Queue("orders", topics.SHIPPING_EVENTS),
    ),
}
_PENDING = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


class BacklogSampler:
    """One admin client and one group-less consumer (for end offsets), kept open."""

    def __init__(
        self, kafka: KafkaSettings, queues: Mapping[str, tuple[Queue, ...]] = QUEUES
    ) -> None:
        self._kafka = kafka
        self._queues = queues
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        # (group, partition) -> (committed offset, when it last changed)
        self._moved: dict[tuple[str, TopicPartition], tuple[int, float]] = {}
        self._partitions: list[TopicPartition] = []

    async def sample(self, conn: Connection) -> dict[str, list[list[QueueSample]]]:
        """Per participant, its queues (each a list of partitions); our outbox's pending
        rows count as a queue of every participant (commands not sent yet)."""
        pending = int(await conn.fetchval(_PENDING))
        outbox = [QueueSample(lag=pending, idle_s=0.0)]
        groups = {queue.group for queues in self._queues.values() for queue in queues}
        committed = {group: await self._committed(group) for group in sorted(groups)}
        ends = await self._end_offsets()
        now = time.monotonic()
        samples: dict[str, list[list[QueueSample]]] = {}
        for participant, queues in self._queues.items():
            found = [outbox]
            for queue in queues:
                found.append(
                    [
                        self._partition(queue.group, tp, end, committed, now)
                        for tp, end in ends.items()
                        if tp.topic == queue.topic
                    ]
                )
            samples[participant] = found
        return samples

    def _partition(
        self,
        group: str,
        tp: TopicPartition,
        end: int,
        committed: dict[str, dict[TopicPartition, int]],
        now: float,
    ) -> QueueSample:
        offset = committed[group].get(tp, 0)
        previous = self._moved.get((group, tp))
        if previous is None or previous[0] != offset:
            self._moved[(group, tp)] = (offset, now)
            idle = 0.0
        else:
            idle = now - previous[1]
        return QueueSample(lag=max(0, end - offset), idle_s=idle)

    async def _committed(self, group: str) -> dict[TopicPartition, int]:
        admin = await self._admin_client()
        offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        if not self._partitions:
            admin = await self._admin_client()
            names = sorted({q.topic for queues in self._queues.values() for q in queues})
            self._partitions = [
                TopicPartition(described["topic"], partition["partition"])
                for described in await admin.describe_topics(names)
                for partition in described["partitions"]
            ]
        consumer = await self._group_less_consumer()
        found: dict[TopicPartition, int] = await consumer.end_offsets(self._partitions)
        return found

    async def _admin_client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._kafka.bootstrap_servers,
                request_timeout_ms=self._kafka.request_timeout_ms,
            )
            await asyncio.wait_for(admin.start(), self._kafka.lifecycle_timeout_s)
            self._admin = admin
        return self._admin

    async def _group_less_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._kafka.bootstrap_servers,
                request_timeout_ms=self._kafka.request_timeout_ms,
                enable_auto_commit=False,
                group_id=None,
            )
            await asyncio.wait_for(consumer.start(), self._kafka.lifecycle_timeout_s)
            self._consumer = consumer
        return self._consumer

    async def close(self) -> None:
        """Close the clients (a failed sample closes them too, to start afresh)."""
        admin, consumer = self._admin, self._consumer
        self._admin, self._consumer, self._partitions = None, None, []
        if admin is not None:
            await admin.close()
        if consumer is not None:
            await consumer.stop()
