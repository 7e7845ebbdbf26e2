"""OffsetCommitter: offsets of handled batches only, several at a time, owned partitions only.

The consumer here is a stand-in recording commits; that offsets really reach the broker
after the transaction is shown against a real Kafka in the integration tests
(integration/test_offsets.py, the fault suite)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from orderflow_messaging.offsets import OffsetCommitter


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int


@dataclass
class RecordingConsumer:
    owned: set[TopicPartition]
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    fail: bool = False

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail:
            raise RuntimeError("coordinator gone")
        self.commits.append(dict(offsets))


A0, A1 = TopicPartition("a", 0), TopicPartition("a", 1)


async def test_commits_at_once_when_the_interval_is_zero() -> None:
    consumer = RecordingConsumer({A0})
    offsets = OffsetCommitter("c", 0)
    await offsets.handled(consumer, [Rec("a", 0, 4), Rec("a", 0, 5)])
    assert consumer.commits == [{A0: 6}]


async def test_batches_within_the_interval_are_committed_together_by_the_timer() -> None:
    consumer = RecordingConsumer({A0, A1})
    offsets = OffsetCommitter("c", 0.05)
    await offsets.handled(consumer, [Rec("a", 0, 1)])
    await offsets.handled(consumer, [Rec("a", 0, 2), Rec("a", 1, 7)])
    assert consumer.commits == []  # the interval has not passed since the committer began
    await asyncio.sleep(0.12)
    assert consumer.commits == [{A0: 3, A1: 8}]
    assert offsets.pending == {}


async def test_never_moves_an_offset_back_within_a_pending_round() -> None:
    consumer = RecordingConsumer({A0})
    offsets = OffsetCommitter("c", 10)
    await offsets.handled(consumer, [Rec("a", 0, 9)])
    await offsets.handled(consumer, [Rec("a", 0, 3)])  # a redelivered, skipped record
    assert offsets.pending == {A0: 10}


async def test_partitions_no_longer_owned_are_not_committed() -> None:
    consumer = RecordingConsumer({A1})
    offsets = OffsetCommitter("c", 10)
    await offsets.handled(consumer, [Rec("a", 0, 1), Rec("a", 1, 1)])
    await offsets.commit()
    assert consumer.commits == [{A1: 2}]


async def test_a_revocation_drops_the_revoked_partitions_offsets() -> None:
    consumer = RecordingConsumer({A0, A1})
    offsets = OffsetCommitter("c", 10)
    await offsets.handled(consumer, [Rec("a", 0, 1), Rec("a", 1, 5)])
    offsets.on_partitions_revoked([A1])
    assert offsets.pending == {A0: 2}


async def test_close_commits_what_is_pending_then_every_batch_at_once() -> None:
    consumer = RecordingConsumer({A0})
    offsets = OffsetCommitter("c", 10)
    await offsets.handled(consumer, [Rec("a", 0, 1)])
    await offsets.close()
    await offsets.handled(consumer, [Rec("a", 0, 2)])
    assert consumer.commits == [{A0: 2}, {A0: 3}]


async def test_a_failed_commit_is_pending_again_and_retried() -> None:
    consumer = RecordingConsumer({A0}, fail=True)
    offsets = OffsetCommitter("c", 0.03)
    await offsets.handled(consumer, [Rec("a", 0, 1)])
    await asyncio.sleep(0.05)  # the loop tried once, and failed
    assert offsets.pending == {A0: 2}
    consumer.fail = False
    await offsets.handled(consumer, [Rec("a", 0, 2)])
    await asyncio.sleep(0.08)
    assert consumer.commits == [{A0: 3}]
    assert offsets.pending == {}


async def test_a_failed_commit_does_not_raise() -> None:
    consumer = RecordingConsumer({A0}, fail=True)
    offsets = OffsetCommitter("c", 0)
    await offsets.handled(consumer, [Rec("a", 0, 1)])  # must not raise
    assert offsets.pending == {A0: 2}


async def test_a_test_brokers_consumer_is_ignored() -> None:
    offsets = OffsetCommitter("c", 0)
    await offsets.handled(object(), [Rec("a", 0, 1)])
    assert offsets.pending == {}
