"""Consuming with exactly-once effects: a whole poll in one transaction.

For each batch of records (a poll; one record is a batch of one):
1. decode every record; undecodable ones are dead-lettered with a reason code;
2. in ONE transaction, with a fixed handful of statements whatever the batch size:
   claim the inbox for every record unless its key is parked (one statement that also
   returns the batch's parked keys; duplicates are counted and skipped; records of a
   parked key and poison are dead-lettered), hand each handler its claimed messages in
   batch order (a handler writes each of its tables once for the batch and
   queues its outgoing messages), insert every queued outbox row (one statement), commit;
3. the offsets are handed to the offset committer only after that transaction committed.
If the batch transaction fails, its halves are tried in turn, down to single records,
so one bad record cannot hold back the others: a record that fails alone backs off and
retries, counted durably; after ``max_attempts`` (or at once for PermanentFailure) it is
dead-lettered, and the partition moves on. Database/broker outages are not counted
against a record: the batch is rewound (nack) and tried again after a pause.

Per-key order: a handler gets its messages in the order they were polled, and Kafka
keeps a key's records in order within its partition. A service whose message types
must be folded together in order (a saga's start and its replies) registers one
handler for all of them.

Pipelined (a consumer built with ``pipelined=True``, the coordinator): an optimistic
batch's statement runs in the background while the subscriber polls the next batch and
its handlers decide it (``pipeline``), so the database's time and the handlers' overlap
instead of adding up. The statements still run one at a time, in poll order, and a
batch's offsets still go only after its statement committed. A plan is decided on top
of what the batch before it decided (a handler keeps that in memory, e.g. the saga
cache); so when that batch does not commit as planned (a conflict, any failure), the
plan built on it is dropped unrun and its batch is handled afresh.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import structlog
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging import metrics, tracing
from orderflow_messaging.clock import Clock, IdFactory, new_message_id, utc_now
from orderflow_messaging.crash import crashpoint, fault_delay_s
from orderflow_messaging.db import Connection, hot_pool
from orderflow_messaging.dead_letter import dead_letter_record
from orderflow_messaging.envelope import Envelope, SourceCoordinates, header_value
from orderflow_messaging.errors import PermanentFailure, PoisonMessage, ReasonCode
from orderflow_messaging.faults import InfrastructureUnavailable, is_infrastructure
from orderflow_messaging.inbox import Claim, Inbox, InboxStatus
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.parking import Parking
from orderflow_messaging.registry import Message, MessageRegistry
from orderflow_messaging.settings import ConsumerSettings
from orderflow_messaging.write_plan import WriteConflict, WritePlan

log = structlog.get_logger(__name__)

# Dead letters of records with no readable message id are keyed by their coordinates.
_COORDINATE_NAMESPACE = uuid.UUID("6f1b5a2e-93c4-4c1e-8d0a-0e5d7c9a1b20")
# Set by the DLQ redrive tool on a record it puts back.
REDRIVEN_HEADER = "redriven_from"
_PARKING_REASONS = {ReasonCode.PERMANENT_FAILURE, ReasonCode.RETRIES_EXHAUSTED, ReasonCode.PARKED}

M = TypeVar("M", bound=Message, covariant=True)


class Record(Protocol):
    """The parts of a Kafka consumer record we use (aiokafka's ConsumerRecord fits)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Incoming(Generic[M]):
    """One claimed message of a batch: new to this consumer, to be applied once."""

    message: M
    envelope: Envelope
    source: SourceCoordinates


@dataclass(frozen=True, slots=True)
class Batch:
    """What a handler gets besides its messages: the batch's connection (asyncpg) and
    the outbox that commits with it.

    Without ``plan``, ``conn`` is in the batch's transaction block: load with
    ``FOR UPDATE``, write with statements of your own. With ``plan`` (an optimistic
    batch; only for a consumer built with ``optimistic=True``), ``conn`` is NOT in a
    transaction block: load without locks, and add every write to ``plan`` with the
    rows it must find (``write_plan.py``); the consumer runs the plan, and on a
    conflict runs the batch again without a plan."""

    conn: Connection
    outbox: BatchOutbox
    clock: Clock
    plan: WritePlan | None = None


# A handler: the batch, and its claimed messages in poll order.
BatchHandler = Callable[[Batch, Sequence[Incoming[Any]]], Awaitable[None]]
H = TypeVar("H", bound=BatchHandler)


@dataclass(frozen=True, slots=True)
class _Planned:
    """A pipelined batch decided, its statement not run: the pool's connection it holds."""

    conn: PoolConnectionProxy[Any]
    plan: WritePlan
    outcomes: list[str]


@dataclass(slots=True)
class _Item:
    record: Record
    source: SourceCoordinates
    envelope: Envelope | None
    message: Message | None
    poison: PoisonMessage | None

    @property
    def redriven(self) -> bool:
        return header_value(self.record.headers or (), REDRIVEN_HEADER) is not None

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]:
        return self.record.headers or ()


class MessageConsumer:
    """Routes decoded messages to batch handlers by type, with inbox, retries and dead
    letters."""

    def __init__(
        self,
        *,
        name: str,
        producer: str,
        registry: MessageRegistry,
        engine: AsyncEngine,
        settings: ConsumerSettings | None = None,
        clock: Clock = utc_now,
        new_id: IdFactory = new_message_id,
        optimistic: bool = False,
        pipelined: bool = False,
    ) -> None:
        self.name = name
        self._producer = producer
        self._registry = registry
        self._pool = hot_pool(engine)
        self._settings = settings or ConsumerSettings()
        # Whether the handlers take a write plan (``Batch.plan``): then a batch is tried
        # as two round trips first (write_plan.py), unless the settings say never.
        self._optimistic = optimistic and self._settings.optimistic
        self._pipelined = pipelined and self._optimistic and self._settings.pipeline
        # The batch whose statement runs in the background (``pipeline``); its result
        # says whether it committed as planned.
        self._inflight: asyncio.Task[bool] | None = None
        self._clock = clock
        self._new_id = new_id
        self._inbox = Inbox(name)
        self._parking = Parking(name)
        self._handlers: dict[str, BatchHandler] = {}

    def handles(self, *models: type[Message]) -> Callable[[H], H]:
        """Register the decorated coroutine as the batch handler of these message types.
        A type has one handler: registering it again is an error."""

        def register(handler: H) -> H:
            for model in models:
                if model.TYPE in self._handlers:
                    raise ValueError(f"{self.name}: {model.TYPE} already has a handler")
                self._handlers[model.TYPE] = handler
            return handler

        return register

    async def process(self, records: Sequence[Record]) -> None:
        """Handle a batch; returns only when every record is handled or dead-lettered.
        The caller commits the offsets after it returns."""
        await self._handle([self._decode(record) for record in records])

    async def _handle(self, items: list[_Item]) -> None:
        if not items:
            return
        if not tracing.enabled():
            await self._process_items(items)
            return
        with tracing.batch_spans(self.name, items):
            await self._process_items(items)

    async def pipeline(
        self, records: Sequence[Record], done: Callable[[], Awaitable[None]]
    ) -> None:
        """Like ``process``, but an optimistic batch's statement may still be running
        when this returns: ``done`` is awaited once the batch is handled (its statement
        committed, or it was handled otherwise), in poll order. A consumer that does not
        pipeline (or a traced one: a batch's span covers its whole work) handles the
        batch before returning. Call ``settle`` before stopping."""
        items = [self._decode(record) for record in records]
        if not (self._pipelined and items and _plain(items)) or tracing.enabled():
            await self.settle()
            await self._handle(items)
        else:
            planned = await self._prepare(items)
            as_planned = await self.settle()
            if planned is not None and as_planned:
                self._inflight = asyncio.create_task(self._finish(planned, items, done))
                return
            if planned is not None:
                # Decided on top of a batch that did not commit as planned: decided afresh.
                await self._drop(planned)
            # (When the handlers failed, the transaction block isolates the batch.)
            await self._process_items(items, planned=planned is not None)
        await done()

    async def settle(self) -> bool:
        """Wait for the batch whose statement is running (if any): whether it committed
        as planned."""
        inflight, self._inflight = self._inflight, None
        return True if inflight is None else await inflight

    async def _prepare(self, items: list[_Item]) -> _Planned | None:
        """Decide an optimistic batch without running its statement: None when it
        cannot be (any failure: the batch is then handled the usual way)."""
        conn: PoolConnectionProxy[Any] | None = None
        try:
            pool = await self._pool.pool()
            conn = await pool.acquire()
            plan, outcomes = await self._plan(conn, items)
        except Exception as exc:
            self._plan_failed(exc, len(items))
            if conn is not None:
                await pool.release(conn)
            return None
        return _Planned(conn, plan, outcomes)

    async def _drop(self, planned: _Planned) -> None:
        planned.plan.abandon()
        pool = await self._pool.pool()
        await pool.release(planned.conn)

    async def _finish(
        self, planned: _Planned, items: list[_Item], done: Callable[[], Awaitable[None]]
    ) -> bool:
        """Run a pipelined batch's statement; on a conflict or any failure handle the
        batch in a transaction block (retrying through database outages: its records are
        no longer the subscriber's to rewind). Whether it committed as planned."""
        as_planned = False
        pool = await self._pool.pool()
        try:
            await _commit(planned.conn, planned.plan)
            as_planned = True
        except Exception as exc:
            self._plan_failed(exc, len(items))
        finally:
            await pool.release(planned.conn)
        if as_planned:
            _count(self.name, items, planned.outcomes)
        else:
            await self._until_handled(items)
        await done()
        return as_planned

    async def _until_handled(self, items: list[_Item]) -> None:
        """The transaction block path, again until it returns: what the subscriber's
        rewind and refetch would do, for records it has handed over already."""
        while True:
            try:
                await self._process_items(items, planned=False)
                return
            except InfrastructureUnavailable:
                continue  # paused already
            except Exception as exc:
                log.warning("pipelined_batch_failed", consumer=self.name, error=repr(exc))
                await asyncio.sleep(self._backoff(3))

    async def _process_items(self, items: list[_Item], *, planned: bool = True) -> None:
        """One transaction for ``items``. When it fails, the halves are tried in turn (in
        order, so per-key order holds), down to single records, which get the retry and
        dead-letter rules: one bad record among n costs about 2 log2(n) transactions, not
        n. An optimistic consumer tries the batch as a write plan first (unless
        ``planned`` is False: it was tried)."""
        if planned and self._optimistic and _plain(items):
            outcomes = await self._try_planned(items)
            if outcomes is not None:
                _count(self.name, items, outcomes)
                return
        try:
            outcomes = await self._transaction(items, alone=False)
        except Exception as exc:
            if is_infrastructure(exc):
                await self._pause_for_infrastructure(exc)
            if len(items) == 1:
                await self._process_alone(items[0])
                return
            log.info("batch_failed_splitting", consumer=self.name, size=len(items))
            half = len(items) // 2
            await self._process_items(items[:half])
            await self._process_items(items[half:])
            return
        _count(self.name, items, outcomes)

    async def _transaction(self, items: list[_Item], *, alone: bool) -> list[str]:
        pool = await self._pool.pool()
        async with pool.acquire() as conn, conn.transaction():
            outcomes = await self._apply(conn, items)
            if alone:
                await self._inbox.clear_attempts(conn, items[0].source)
            crashpoint("consumer.before_commit")
        crashpoint("consumer.after_commit")
        return outcomes

    async def _try_planned(self, items: list[_Item]) -> list[str] | None:
        """The batch as an optimistic write plan: its outcomes, or None when it must run
        in a transaction block (a conflict, or any failure: that path isolates it)."""
        try:
            pool = await self._pool.pool()
            async with pool.acquire() as conn:
                return await self._apply_planned(conn, items)
        except Exception as exc:
            self._plan_failed(exc, len(items))
            if is_infrastructure(exc):
                await self._pause_for_infrastructure(exc)
        return None

    def _plan_failed(self, exc: Exception, size: int) -> None:
        """An optimistic batch that will not commit as planned (it runs in a transaction
        block next): a conflict is counted, anything else logged."""
        if isinstance(exc, WriteConflict):
            metrics.WRITE_CONFLICTS.labels(self.name).inc()
            log.debug("batch_write_conflict", consumer=self.name, size=size)
        else:
            log.debug("planned_batch_failed", consumer=self.name, error=repr(exc))

    async def _apply_planned(self, conn: Connection, items: list[_Item]) -> list[str]:
        """Load (the handlers), decide, then one statement: the inbox claim of every
        record, the handlers' writes, the outbox."""
        plan, outcomes = await self._plan(conn, items)
        await _commit(conn, plan)
        return outcomes

    async def _plan(self, conn: Connection, items: list[_Item]) -> tuple[WritePlan, list[str]]:
        """The handlers load and decide; every write of the batch goes into one plan."""
        outbox = BatchOutbox(producer=self._producer, clock=self._clock, new_id=self._new_id)
        plan = WritePlan()
        outcomes: list[str] = []
        claims: list[Claim] = []
        work: dict[BatchHandler, list[Incoming[Message]]] = {}
        for item in items:
            envelope, message = item.envelope, item.message
            assert envelope is not None  # _plain: every record decoded
            assert message is not None
            handler = self._handlers.get(envelope.type)
            status = InboxStatus.PROCESSED if handler else InboxStatus.IGNORED
            claims.append(Claim(envelope.message_id, item.source, envelope.type, status))
            if handler is None:
                outcomes.append("ignored")
                continue
            work.setdefault(handler, []).append(Incoming(message, envelope, item.source))
            outcomes.append("processed")
        self._inbox.claim_in(plan, claims, (item.record.key for item in items))
        if work:
            if delay := fault_delay_s("consumer.handle"):
                log.warning("fault_delay", point="consumer.handle", seconds=delay)
                await asyncio.sleep(delay)
            batch = Batch(conn, outbox, self._clock, plan)
            try:
                for handler, incoming in work.items():
                    await handler(batch, incoming)
            except BaseException:
                plan.abandon()  # a handler may have told its cache already
                raise
        outbox.add_to(plan)
        return plan, outcomes

    def _decode(self, record: Record) -> _Item:
        source = SourceCoordinates(record.topic, record.partition, record.offset)
        envelope: Envelope | None = None
        try:
            envelope = self._registry.parse_envelope(
                record.value, max_bytes=self._settings.max_message_bytes
            )
            message = self._registry.decode_payload(envelope)
            return _Item(record, source, envelope, message, None)
        except PoisonMessage as poison:
            return _Item(record, source, envelope, None, poison)
        except Exception as exc:  # a decoding bug: dead-letter, never stall the partition
            failure = PoisonMessage(ReasonCode.SCHEMA_INVALID, f"decoding failed: {exc!r}")
            return _Item(record, source, envelope, None, failure)

    async def _apply(self, conn: Connection, items: list[_Item]) -> list[str]:
        """The batch's statements; returns each item's outcome, in order."""
        outbox = BatchOutbox(producer=self._producer, clock=self._clock, new_id=self._new_id)
        outcomes: list[str] = [""] * len(items)
        claims: list[tuple[int, Claim]] = []
        for n, item in enumerate(items):
            if item.poison is None:
                assert item.envelope is not None
                status = (
                    InboxStatus.PROCESSED
                    if item.envelope.type in self._handlers
                    else InboxStatus.IGNORED  # recorded, so every delivery is accounted for
                )
                claim = Claim(
                    item.envelope.message_id, item.source, item.envelope.type, status,
                    key=item.record.key, redriven=item.redriven,
                )  # fmt: skip
                claims.append((n, claim))
        claimed, parked = await self._inbox.claim_batch(
            conn, [claim for _, claim in claims], (item.record.key for item in items)
        )
        if parked or len(claims) < len(items):
            await self._dead_letter_unclaimed(conn, outbox, items, parked, outcomes)
            claims = [(n, claim) for n, claim in claims if not outcomes[n]]
        work: dict[BatchHandler, list[Incoming[Message]]] = {}
        taken: set[uuid.UUID] = set()
        for n, claim in claims:
            item = items[n]
            if claim.message_id not in claimed or claim.message_id in taken:
                outcomes[n] = "duplicate"
                continue
            taken.add(claim.message_id)
            if claim.status is InboxStatus.IGNORED:
                outcomes[n] = "ignored"
                continue
            assert item.envelope is not None
            assert item.message is not None
            handler = self._handlers[item.envelope.type]
            work.setdefault(handler, []).append(Incoming(item.message, item.envelope, item.source))
            outcomes[n] = "processed"
        if work:
            if delay := fault_delay_s("consumer.handle"):
                log.warning("fault_delay", point="consumer.handle", seconds=delay)
                await asyncio.sleep(delay)
            batch = Batch(conn, outbox, self._clock)
            for handler, incoming in work.items():
                await handler(batch, incoming)
        await self._unpark_redriven(conn, items, outcomes)
        await outbox.flush(conn)
        return outcomes

    async def _dead_letter_unclaimed(
        self,
        conn: Connection,
        outbox: BatchOutbox,
        items: list[_Item],
        parked: set[bytes],
        outcomes: list[str],
    ) -> None:
        """Dead-letter, in batch order, what the batch claim left alone: the records of
        a parked key that are not redrives (reason PARKED, whatever else is wrong with
        them) and poison."""
        for n, item in enumerate(items):
            key = item.record.key
            if key is not None and key in parked and not item.redriven:
                outcomes[n] = await self._dead_letter(
                    conn, outbox, item, ReasonCode.PARKED,
                    "an earlier message with this key is dead-lettered; redrive it first",
                    "Parked", 0,
                )  # fmt: skip
            elif item.poison is not None:
                outcomes[n] = await self._dead_letter(
                    conn, outbox, item, item.poison.reason, item.poison.detail, "PoisonMessage", 0
                )

    async def _unpark_redriven(
        self, conn: Connection, items: list[_Item], outcomes: list[str]
    ) -> None:
        for item, outcome in zip(items, outcomes, strict=True):
            key = item.record.key
            redriven = outcome == "processed" and key is not None and item.redriven
            if redriven and key is not None and await self._parking.unpark(conn, key):
                log.info("key_unparked", consumer=self.name, source=str(item.source))

    async def _process_alone(self, item: _Item) -> None:
        while True:
            try:
                outcomes = await self._transaction([item], alone=True)
                _count(self.name, [item], outcomes)
                return
            except PermanentFailure as exc:
                await self._dead_letter_alone(item, ReasonCode.PERMANENT_FAILURE, exc, 1)
                return
            except Exception as exc:
                if is_infrastructure(exc):
                    await self._pause_for_infrastructure(exc)
                attempts = await self._count_attempt(item, exc)
                if attempts >= self._settings.max_attempts:
                    await self._dead_letter_alone(item, ReasonCode.RETRIES_EXHAUSTED, exc, attempts)
                    return
                metrics.HANDLER_RETRIES.labels(self.name, item.source.topic).inc()
                log.warning(
                    "handler_failed_will_retry",
                    consumer=self.name,
                    source=str(item.source),
                    attempts=attempts,
                    error=repr(exc),
                )
                await asyncio.sleep(self._backoff(attempts))

    async def _count_attempt(self, item: _Item, exc: Exception) -> int:
        try:
            pool = await self._pool.pool()
            async with pool.acquire() as conn, conn.transaction():
                return await self._inbox.record_attempt(conn, item.source, _describe(exc))
        except Exception as db_exc:
            await self._pause_for_infrastructure(db_exc)
            raise  # unreachable: the pause raises

    async def _dead_letter_alone(
        self, item: _Item, reason: ReasonCode, exc: Exception, attempts: int
    ) -> None:
        outcome = "dead_lettered"
        try:
            pool = await self._pool.pool()
            async with pool.acquire() as conn, conn.transaction():
                outbox = BatchOutbox(producer=self._producer, new_id=self._new_id)
                outcome = await self._dead_letter(
                    conn, outbox, item, reason, _describe(exc), type(exc).__name__, attempts
                )
                await outbox.flush(conn)
                await self._inbox.clear_attempts(conn, item.source)
        except Exception as db_exc:
            await self._pause_for_infrastructure(db_exc)
        _count(self.name, [item], [outcome])

    async def _dead_letter(
        self,
        conn: Connection,
        outbox: BatchOutbox,
        item: _Item,
        reason: ReasonCode,
        error: str,
        exception: str,
        attempts: int,
    ) -> str:
        envelope = item.envelope
        message_id = envelope.message_id if envelope else _coordinate_id(item.source)
        claim = Claim(
            message_id,
            item.source,
            envelope.type if envelope else None,
            InboxStatus.DEAD_LETTERED,
        )
        if not await self._inbox.claim_many(conn, [claim]):
            return "duplicate"
        record = item.record
        dead = dead_letter_record(
            source=item.source,
            key=record.key,
            value=record.value,
            headers=list(record.headers or ()),
            reason=reason,
            error=error,
            exception=exception,
            consumer=self.name,
            attempts=attempts,
            failed_at=self._clock(),
            message_type=envelope.type if envelope else None,
            correlation_id=envelope.correlation_id if envelope else None,
        )
        outbox.put_record(dead)
        if reason in _PARKING_REASONS and record.key is not None:
            await self._parking.park(conn, record.key, message_id)
        metrics.DEAD_LETTERS.labels(self.name, item.source.topic, reason.value).inc()
        log.warning(
            "message_dead_lettered",
            consumer=self.name,
            source=str(item.source),
            reason=reason.value,
            error=error[:300],
            attempts=attempts,
        )
        return "dead_lettered"

    async def _pause_for_infrastructure(self, exc: Exception) -> None:
        """Back off, then raise so the subscriber rewinds (nack) and refetches the batch."""
        log.warning("infrastructure_unavailable", consumer=self.name, error=repr(exc))
        await asyncio.sleep(self._backoff(3))
        raise InfrastructureUnavailable(repr(exc)) from exc

    def _backoff(self, attempts: int) -> float:
        base = self._settings.backoff_initial_s * 2 ** max(0, attempts - 1)
        return float(min(self._settings.backoff_max_s, base) * random.uniform(0.8, 1.2))


def batch_consumer(
    name: str,
    *,
    producer: str,
    registry: MessageRegistry,
    engine: AsyncEngine,
    settings: ConsumerSettings,
    clock: Clock,
    handles: Sequence[type[Message]],
    handler: BatchHandler,
    new_id: IdFactory = new_message_id,
    optimistic: bool = False,
    pipelined: bool = False,
) -> MessageConsumer:
    """A service's consumer: one batch handler for the message types it folds together
    (what every service's ``entrypoints/messages.py`` builds)."""
    consumer = MessageConsumer(
        name=name,
        producer=producer,
        registry=registry,
        engine=engine,
        settings=settings,
        clock=clock,
        new_id=new_id,
        optimistic=optimistic,
        pipelined=pipelined,
    )
    consumer.handles(*handles)(handler)
    return consumer


async def _commit(conn: Connection, plan: WritePlan) -> None:
    """Run a batch's plan (its statement commits it), between the crash points."""
    crashpoint("consumer.before_commit")
    await plan.execute(conn)
    crashpoint("consumer.after_commit")


def _plain(items: Sequence[_Item]) -> bool:
    """A batch the optimistic path may take: every record decoded, none a redrive, no
    message id twice (anything else needs the claim's answers before deciding)."""
    ids: set[uuid.UUID] = set()
    for item in items:
        if item.envelope is None or item.poison is not None or item.redriven:
            return False
        ids.add(item.envelope.message_id)
    return len(ids) == len(items)


def _count(consumer: str, items: Sequence[_Item], outcomes: Sequence[str]) -> None:
    """Metrics once per (topic, outcome) per batch, not once per message."""
    counts = Counter(
        (item.source.topic, outcome) for item, outcome in zip(items, outcomes, strict=True)
    )
    for (topic, outcome), n in counts.items():
        metrics.MESSAGES_CONSUMED.labels(consumer, topic, outcome).inc(n)
        if outcome == "duplicate":
            log.info("duplicates_skipped", consumer=consumer, topic=topic, count=n)


def _coordinate_id(source: SourceCoordinates) -> uuid.UUID:
    return uuid.uuid5(_COORDINATE_NAMESPACE, str(source))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
