"""A pipelined consumer on the real database: the next batch is decided while the last
one's statement runs, statements commit in poll order, and a plan decided on top of a
batch that did not commit as planned is never run."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from orderflow_messaging.clock import utc_now
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.outbox import new_envelope
from orderflow_messaging.settings import ConsumerSettings
from orderflow_testing.plugin import SchemaDatabase

from .conftest import Pinged, make_registry

pytestmark = pytest.mark.integration

TOPIC = "pinged"
_EFFECTS = (
    "INSERT INTO effects (message_id, order_id, n) "
    "SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])"
)


@dataclass(frozen=True)
class _Record:
    offset: int
    value: bytes | None
    key: bytes | None = b"k"
    topic: str = TOPIC
    partition: int = 0
    headers: Sequence[tuple[str, bytes]] = ()


def _record(offset: int, n: int) -> _Record:
    order_id = f"order-{n}"
    envelope = new_envelope(
        Pinged(order_id=order_id, n=n), message_id=uuid.uuid4(), at=utc_now(),
        producer="test", correlation_id=order_id, causation=None,
    )  # fmt: skip
    return _Record(offset, envelope.to_bytes(), key=order_id.encode())


@dataclass
class _Service:
    """A pipelined consumer whose handler writes effects and says what it did in
    ``events``; its statement sleeps for the ``slow`` messages, and conflicts (once)
    for the ``conflicting`` ones."""

    db: SchemaDatabase
    slow: set[int] = field(default_factory=set)
    conflicting: set[int] = field(default_factory=set)
    events: list[str] = field(default_factory=list)

    def consumer(self, *, pipelined: bool = True) -> MessageConsumer:
        consumer = MessageConsumer(
            name="pipelined", producer="test", registry=make_registry(),
            engine=self.db.engine, settings=ConsumerSettings(backoff_initial_s=0.05),
            optimistic=True, pipelined=pipelined,
        )  # fmt: skip
        consumer.handles(Pinged)(self._on_pinged)
        return consumer

    async def _on_pinged(self, batch: Batch, items: Sequence[Incoming[Pinged]]) -> None:
        numbers = [item.message.n for item in items]
        args = (
            [i.envelope.message_id for i in items],
            [i.message.order_id for i in items],
            numbers,
        )
        if batch.plan is None:
            self.events.extend(f"decided {n} in a block" for n in numbers)
            await batch.conn.execute(_EFFECTS, *args)
            return
        self.events.extend(f"decided {n}" for n in numbers)
        batch.plan.if_abandoned(lambda: self.events.extend(f"abandoned {n}" for n in numbers))
        batch.plan.add(_EFFECTS, *args, expect=len(items))
        if self.slow & set(numbers):
            batch.plan.hold("SELECT pg_sleep(0.5)", expect=1)
        if conflicting := self.conflicting & set(numbers):
            self.conflicting -= conflicting
            batch.plan.hold("SELECT 1 WHERE false", expect=1)

    def done(self, name: str) -> Callable[[], Awaitable[None]]:
        async def done() -> None:
            self.events.append(f"done {name}")

        return done

    async def effects(self) -> list[tuple[str, int]]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT order_id, n FROM effects ORDER BY id"))
            return [(row.order_id, row.n) for row in rows]


@pytest.fixture
async def service(messaging_db: SchemaDatabase) -> _Service:
    async with messaging_db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE effects (id bigserial PRIMARY KEY, message_id uuid UNIQUE, "
                "order_id text NOT NULL, n int NOT NULL)"
            )
        )
    return _Service(messaging_db)


async def _two_batches(service: _Service, consumer: MessageConsumer, second: list[_Record]) -> None:
    await consumer.pipeline([_record(0, 1)], service.done("1"))
    service.events.append("returned 1")
    await consumer.pipeline(second, service.done("2"))
    await consumer.settle()


async def test_the_next_batch_is_decided_while_the_last_one_commits(service: _Service) -> None:
    service.slow = {1}
    await _two_batches(service, service.consumer(), [_record(1, 2)])
    assert service.events == ["decided 1", "returned 1", "decided 2", "done 1", "done 2"]
    assert await service.effects() == [("order-1", 1), ("order-2", 2)]


async def test_without_pipelining_a_batch_is_done_before_the_next(service: _Service) -> None:
    service.slow = {1}
    await _two_batches(service, service.consumer(pipelined=False), [_record(1, 2)])
    assert service.events == ["decided 1", "done 1", "returned 1", "decided 2", "done 2"]


async def test_a_plan_decided_on_a_batch_that_did_not_commit_is_never_run(
    service: _Service,
) -> None:
    """Batch 1's statement conflicts after batch 2 was decided on top of it: batch 1 runs
    in a transaction block, batch 2's plan is dropped unrun and batch 2 decided afresh;
    each effect once, in poll order."""
    service.slow, service.conflicting = {1}, {1}
    await _two_batches(service, service.consumer(), [_record(1, 2)])
    assert service.events == [
        "decided 1", "returned 1", "decided 2",
        "abandoned 1", "decided 1 in a block", "done 1",
        "abandoned 2", "decided 2", "done 2",
    ]  # fmt: skip
    assert await service.effects() == [("order-1", 1), ("order-2", 2)]


async def test_a_batch_that_cannot_be_planned_waits_for_the_one_in_flight(
    service: _Service,
) -> None:
    """A batch with poison in it takes the transaction block path, which must not
    overtake the statement still running."""
    service.slow = {1}
    poison = _Record(1, b"{not json", key=b"order-9")
    await _two_batches(service, service.consumer(), [poison, _record(2, 3)])
    assert service.events == [
        "decided 1", "returned 1", "done 1", "decided 3 in a block", "done 2",
    ]  # fmt: skip
    assert await service.effects() == [("order-1", 1), ("order-3", 3)]
