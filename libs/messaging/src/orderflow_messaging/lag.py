"""Consumer lag read from the broker: a group's committed offsets against the topics'
end offsets. For decisions a service takes about queues it does not own (the
coordinator's deadline holds, checkout's admission control), and for each consumer's
own ``orderflow_consumer_lag`` gauge (``observe_lag``): read from the broker, it keeps
growing while a consumer is stuck, which a figure the consumer computes after each
batch cannot."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from orderflow_messaging import metrics
from orderflow_messaging.kafka import connection_options
from orderflow_messaging.settings import KafkaSettings

# A group's coordinator is asked for again after this long (and at once when an answer
# is empty or fails): a sample is then one OffsetFetch instead of a FindCoordinator and
# an OffsetFetch, for the lag gauges, the deadline holds and admission control, which
# sample every 0.5-5 s whatever the load (docs/performance.md, nineteenth session).
COORDINATOR_TTL_S = 60.0


class ConsumerLag:
    """One admin client and one group-less consumer (for end offsets), opened on first
    use and kept; ``close`` them after a failure to start afresh."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: dict[str, list[TopicPartition]] = {}
        self._coordinators: dict[str, tuple[int, float]] = {}  # group -> (node, found at)
        self._committing: set[str] = set()  # groups seen with committed offsets

    async def committed(self, group: str) -> dict[TopicPartition, int]:
        """The group's committed offset per partition (none: never committed). Asked of
        the group's coordinator as last found; an error, or an empty answer for a group
        that had committed offsets (what a broker that is no longer its coordinator
        gives), asks for the coordinator again before it counts."""
        admin = await self._admin_client()
        offsets = None
        cached = self._coordinators.get(group)
        if cached is not None and time.monotonic() - cached[1] <= COORDINATOR_TTL_S:
            offsets = await self._ask_known(admin, group, cached[0])
        if offsets is None:
            node = await self._coordinator(admin, group)
            offsets = await admin.list_consumer_group_offsets(group, group_coordinator_id=node)
        found = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        if found:
            self._committing.add(group)
        return found

    async def _ask_known(
        self, admin: AIOKafkaAdminClient, group: str, node: int
    ) -> dict[TopicPartition, Any] | None:
        """The answer of the coordinator last found, or None when the coordinator must be
        found again: an error, or no offsets for a group that had some."""
        try:
            offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(
                group, group_coordinator_id=node
            )
        except Exception:
            self._coordinators.pop(group, None)
            return None
        return None if not offsets and group in self._committing else offsets

    async def _coordinator(self, admin: AIOKafkaAdminClient, group: str) -> int:
        node: int = await admin.find_coordinator(group)
        self._coordinators[group] = (node, time.monotonic())
        return node

    async def end_offsets(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """The next offset to be written, per partition of ``topics``."""
        partitions = [tp for topic in sorted(set(topics)) for tp in await self._of(topic)]
        consumer = await self._group_less_consumer()
        found: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return found

    async def total(self, group: str, topics: Iterable[str]) -> int:
        """Records of ``topics`` the group has not committed yet."""
        return sum((await self.by_partition(group, topics)).values())

    async def by_partition(self, group: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """Records of each partition of ``topics`` the group has not committed yet."""
        ends = await self.end_offsets(topics)
        committed = await self.committed(group)
        return {tp: max(0, end - committed.get(tp, 0)) for tp, end in ends.items()}

    async def close(self) -> None:
        admin, consumer = self._admin, self._consumer
        self._admin, self._consumer, self._partitions = None, None, {}
        self._coordinators = {}
        if admin is not None:
            await admin.close()
        if consumer is not None:
            await consumer.stop()

    async def _of(self, topic: str) -> list[TopicPartition]:
        if topic not in self._partitions:
            admin = await self._admin_client()
            [described] = await admin.describe_topics([topic])
            self._partitions[topic] = sorted(
                TopicPartition(topic, p["partition"]) for p in described["partitions"]
            )
        return self._partitions[topic]

    async def _admin_client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                **connection_options(self._kafka),
                request_timeout_ms=self._kafka.request_timeout_ms,
            )
            await asyncio.wait_for(admin.start(), self._kafka.lifecycle_timeout_s)
            self._admin = admin
        return self._admin

    async def _group_less_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **connection_options(self._kafka),
                request_timeout_ms=self._kafka.request_timeout_ms,
                enable_auto_commit=False,
                group_id=None,
            )
            await asyncio.wait_for(consumer.start(), self._kafka.lifecycle_timeout_s)
            self._consumer = consumer
        return self._consumer


async def observe_lag(
    lag: ConsumerLag, consumer: str, group: str, owned: Collection[TopicPartition]
) -> None:
    """Set ``orderflow_consumer_lag`` for the partitions this replica owns (each
    partition is reported by its owner only, so a sum over replicas counts it once)."""
    if not owned:
        return
    found = await lag.by_partition(group, {tp.topic for tp in owned})
    for tp in owned:
        if tp in found:
            metrics.CONSUMER_LAG.labels(consumer, tp.topic, str(tp.partition)).set(found[tp])


def forget_lag(consumer: str, partitions: Iterable[TopicPartition]) -> None:
    """Partitions this replica no longer owns: their new owner reports them."""
    for tp in partitions:
        with contextlib.suppress(KeyError):
            metrics.CONSUMER_LAG.remove(consumer, tp.topic, str(tp.partition))
