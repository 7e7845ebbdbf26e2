"""OffsetGaps: a record beyond the expected offset means the ones between were skipped.

The consumer is a stand-in answering committed offsets; a real reset (records deleted
below a group's committed offset) is shown against Kafka in
integration/test_offsets.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from structlog.testing import capture_logs

from orderflow_messaging import metrics
from orderflow_messaging.offsets import OffsetCommitter, OffsetGaps


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int


@dataclass
class Committed:
    offsets: dict[TopicPartition, int | None]
    asked: list[TopicPartition] = field(default_factory=list)

    async def committed(self, tp: TopicPartition) -> int | None:
        self.asked.append(tp)
        return self.offsets.get(tp)


A0, A1 = TopicPartition("gaps-a", 0), TopicPartition("gaps-a", 1)


def skipped_total(consumer: str, topic: str) -> float:
    return metrics.RECORDS_SKIPPED.labels(consumer, topic)._value.get()  # type: ignore[no-any-return]


async def test_records_from_the_committed_offset_on_are_no_gap() -> None:
    gaps, consumer = OffsetGaps("c1"), Committed({A0: 5})
    assert await gaps.check(consumer, [Rec("gaps-a", 0, 5), Rec("gaps-a", 0, 6)]) == 0
    assert await gaps.check(consumer, [Rec("gaps-a", 0, 7)]) == 0
    assert consumer.asked == [A0]  # once per assignment, then from the records


async def test_a_first_record_past_the_committed_offset_is_reported_with_its_range() -> None:
    gaps, consumer = OffsetGaps("c2"), Committed({A0: 3})
    before = skipped_total("c2", "gaps-a")
    with capture_logs() as logs:
        assert await gaps.check(consumer, [Rec("gaps-a", 0, 7), Rec("gaps-a", 0, 8)]) == 4
    assert skipped_total("c2", "gaps-a") - before == 4
    [event] = [e for e in logs if e["event"] == "offset_reset_records_skipped"]
    assert event["log_level"] == "error"
    assert (event["topic"], event["partition"], event["first_skipped"], event["last_skipped"]) == (
        "gaps-a",
        0,
        3,
        6,
    )


async def test_a_hole_between_two_polls_is_reported() -> None:
    gaps, consumer = OffsetGaps("c3"), Committed({A0: 0, A1: 0})
    assert await gaps.check(consumer, [Rec("gaps-a", 0, 0), Rec("gaps-a", 1, 0)]) == 0
    assert await gaps.check(consumer, [Rec("gaps-a", 1, 1), Rec("gaps-a", 0, 10)]) == 9


async def test_records_fetched_again_are_no_gap() -> None:
    gaps, consumer = OffsetGaps("c4"), Committed({A0: 0})
    await gaps.check(consumer, [Rec("gaps-a", 0, n) for n in range(5)])
    # the batch failed and was rewound: the same records again
    assert await gaps.check(consumer, [Rec("gaps-a", 0, n) for n in range(5)]) == 0


async def test_no_committed_offset_means_no_reference() -> None:
    gaps = OffsetGaps("c5")
    assert await gaps.check(Committed({}), [Rec("gaps-a", 0, 40)]) == 0


async def test_a_rebalance_makes_the_committed_offset_the_reference_again() -> None:
    committer = OffsetCommitter("c6", 0.1)
    consumer = Committed({A0: 2})
    await committer.gaps.check(consumer, [Rec("gaps-a", 0, 2)])
    committer.on_partitions_revoked([A0])
    committer.on_partitions_assigned([A0])
    consumer.offsets[A0] = 50  # another member handled up to 50 meanwhile
    assert await committer.gaps.check(consumer, [Rec("gaps-a", 0, 50)]) == 0
    assert consumer.asked == [A0, A0]
