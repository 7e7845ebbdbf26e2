"""Lag samples ask a group's coordinator as last found (one request a sample instead of
two), and ask for the coordinator again when its answer is empty or fails, or when it
is old."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from orderflow_messaging import lag as lag_module
from orderflow_messaging.lag import ConsumerLag
from orderflow_messaging.settings import KafkaSettings

TP = TopicPartition("payment.commands", 0)


class FakeAdmin:
    """The two admin calls a sample makes; ``answers`` are what the coordinator says."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.found = 0
        self.asked: list[int | None] = []
        self.node = 1

    async def find_coordinator(self, group: str) -> int:
        self.found += 1
        return self.node

    async def list_consumer_group_offsets(
        self, group: str, group_coordinator_id: int | None = None
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        self.asked.append(group_coordinator_id)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]


def sampler(admin: FakeAdmin) -> ConsumerLag:
    lag = ConsumerLag(KafkaSettings(bootstrap_servers="127.0.0.1:1"))
    lag._admin = admin  # type: ignore[assignment]
    return lag


def committed(offset: int) -> dict[TopicPartition, OffsetAndMetadata]:
    return {TP: OffsetAndMetadata(offset, "")}


async def test_the_coordinator_is_found_once_for_many_samples() -> None:
    admin = FakeAdmin(committed(5), committed(7), committed(9))
    lag = sampler(admin)
    assert [await lag.committed("payment") for _ in range(3)] == [{TP: 5}, {TP: 7}, {TP: 9}]
    assert admin.found == 1
    assert admin.asked == [1, 1, 1]


async def test_an_empty_answer_asks_for_the_coordinator_again_before_it_counts() -> None:
    """A broker that is no longer the group's coordinator answers with no offsets: the
    sample must not read that as 'nothing committed' (a lag of everything)."""
    admin = FakeAdmin(committed(5), {}, committed(6))
    lag = sampler(admin)
    await lag.committed("payment")
    admin.node = 2  # the coordinator moved
    assert await lag.committed("payment") == {TP: 6}
    assert admin.found == 2
    assert admin.asked == [1, 1, 2]


async def test_a_failed_answer_asks_for_the_coordinator_again() -> None:
    admin = FakeAdmin(committed(5), ConnectionError("gone"), committed(6))
    lag = sampler(admin)
    await lag.committed("payment")
    assert await lag.committed("payment") == {TP: 6}
    assert admin.found == 2


async def test_a_fresh_coordinators_failure_is_raised() -> None:
    admin = FakeAdmin(ConnectionError("down"))
    with pytest.raises(ConnectionError):
        await sampler(admin).committed("payment")


async def test_a_group_that_never_committed_costs_one_request_a_sample() -> None:
    """Nothing committed yet is an empty answer too: for a group never seen with
    offsets it counts as it is (a fresh stack's idle groups)."""
    admin = FakeAdmin({}, {}, {})
    lag = sampler(admin)
    assert [await lag.committed("new-group") for _ in range(3)] == [{}, {}, {}]
    assert admin.found == 1
    assert admin.asked == [1, 1, 1]


async def test_an_old_coordinator_is_found_again(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = FakeAdmin(committed(5), committed(6))
    lag = sampler(admin)
    await lag.committed("payment")
    monkeypatch.setattr(lag_module, "COORDINATOR_TTL_S", 0.0)
    await lag.committed("payment")
    assert admin.found == 2
