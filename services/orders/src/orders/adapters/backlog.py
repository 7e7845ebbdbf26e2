"""The queues that decide whether a participant is held (application/deadline_holds.py),
sampled from the broker (consumer groups' committed offsets against the end offsets)
and from our own outbox (rows not yet published)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka import TopicPartition

from orderflow_contracts import topics
from orderflow_messaging.db import Connection
from orderflow_messaging.lag import ConsumerLag
from orderflow_messaging.outbox import outbox_backlog
from orderflow_messaging.settings import KafkaSettings
from orders.application.deadline_holds import QueueSample


@dataclass(frozen=True)
class Queue:
    """Records of ``topic`` waiting for consumer group ``group``."""

    group: str
    topic: str


# Per participant: its commands waiting for it, its replies waiting for the coordinator.
QUEUES: Mapping[str, tuple[Queue, ...]] = {
    "promotions": (
        Queue("promotions", topics.PROMOTIONS_COMMANDS),
        Queue("orders", topics.PROMOTIONS_EVENTS),
    ),
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


class BacklogSampler:
    """Reads the queues of every participant (``queues``), remembering when each
    group last moved its committed offset on each partition."""

    def __init__(
        self, kafka: KafkaSettings, queues: Mapping[str, tuple[Queue, ...]] = QUEUES
    ) -> None:
        self._lag = ConsumerLag(kafka)
        self._queues = queues
        # (group, partition) -> (committed offset, when it last changed)
        self._moved: dict[tuple[str, TopicPartition], tuple[int, float]] = {}

    async def sample(self, conn: Connection) -> dict[str, list[list[QueueSample]]]:
        """Per participant, its queues (each a list of partitions); our outbox's pending
        rows count as a queue of every participant (commands not sent yet)."""
        outbox = [QueueSample(lag=(await outbox_backlog(conn)).rows, idle_s=0.0)]
        queues = [queue for queues in self._queues.values() for queue in queues]
        committed = {g: await self._lag.committed(g) for g in sorted({q.group for q in queues})}
        ends = await self._lag.end_offsets(q.topic for q in queues)
        now = time.monotonic()
        samples: dict[str, list[list[QueueSample]]] = {}
        for participant, its_queues in self._queues.items():
            found = [outbox]
            for queue in its_queues:
                found.append(
                    [
                        self._partition(queue.group, tp, end, committed[queue.group], now)
                        for tp, end in ends.items()
                        if tp.topic == queue.topic
                    ]
                )
            samples[participant] = found
        return samples

    def _partition(
        self, group: str, tp: TopicPartition, end: int, committed: dict[TopicPartition, int],
        now: float,
    ) -> QueueSample:  # fmt: skip
        offset = committed.get(tp, 0)
        previous = self._moved.get((group, tp))
        if previous is None or previous[0] != offset:
            self._moved[(group, tp)] = (offset, now)
            idle = 0.0
        else:
            idle = now - previous[1]
        return QueueSample(lag=max(0, end - offset), idle_s=idle)

    async def close(self) -> None:
        """Close the clients (after a failed sample: the next one starts afresh)."""
        await self._lag.close()
