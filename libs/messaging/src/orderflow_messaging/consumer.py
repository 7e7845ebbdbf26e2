"""Consuming with exactly-once effects: inbox + effect + outbox in one transaction.

For each batch of records (one record is a batch of one):
1. decode every record; undecodable ones are dead-lettered at once with a reason code;
2. in ONE transaction (per lane chunk: see ``process``): claim each message in the inbox
   (a duplicate is counted and skipped), run its handler, which writes its effects and
   queues its outgoing messages; the queued outbox rows are inserted before the commit;
3. the offsets are committed (faststream ack) only after every transaction committed.
If a batch transaction fails, each of its records is retried alone so one bad record cannot
hold back the others: transient failures back off and retry, counted durably; after
``max_attempts`` (or at once for PermanentFailure) the record is dead-lettered, and the
partition moves on. Database/broker outages are not counted against a record: the batch
is rewound (nack) and tried again after a pause.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orderflow_messaging import metrics
from orderflow_messaging.clock import Clock, IdFactory, utc_now
from orderflow_messaging.crash import crashpoint, fault_delay_s
from orderflow_messaging.dead_letter import dead_letter_record
from orderflow_messaging.envelope import Envelope, SourceCoordinates, header_value
from orderflow_messaging.errors import PermanentFailure, PoisonMessage, ReasonCode
from orderflow_messaging.faults import InfrastructureUnavailable, is_infrastructure
from orderflow_messaging.inbox import Inbox, InboxStatus
from orderflow_messaging.outbox import Outbox, flush_deferred
from orderflow_messaging.parking import Parking
from orderflow_messaging.registry import Decoded, Message, MessageRegistry
from orderflow_messaging.settings import ConsumerSettings

log = structlog.get_logger(__name__)

# Dead letters of records with no readable message id are keyed by their coordinates.
_COORDINATE_NAMESPACE = uuid.UUID("6f1b5a2e-93c4-4c1e-8d0a-0e5d7c9a1b20")
# Set by the DLQ redrive tool on a record it puts back.
REDRIVEN_HEADER = "redriven_from"
_PARKING_REASONS = {ReasonCode.PERMANENT_FAILURE, ReasonCode.RETRIES_EXHAUSTED, ReasonCode.PARKED}


class Record(Protocol):
    """The parts of a Kafka consumer record we use (aiokafka's ConsumerRecord fits)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """What a handler gets: the open transaction, the outbox in it, and the message."""

    conn: AsyncConnection
    outbox: Outbox
    envelope: Envelope
    message: Message
    source: SourceCoordinates


Handler = Callable[[HandlerContext], Awaitable[None]]


@dataclass(slots=True)
class _Item:
    record: Record
    source: SourceCoordinates
    envelope: Envelope | None
    decoded: Decoded | None
    poison: PoisonMessage | None

    @property
    def redriven(self) -> bool:
        return header_value(self.record.headers or (), REDRIVEN_HEADER) is not None


class MessageConsumer:
    """Routes decoded messages to handlers by type, with inbox, retries and dead letters."""

    def __init__(
        self,
        *,
        name: str,
        producer: str,
        registry: MessageRegistry,
        engine: AsyncEngine,
        settings: ConsumerSettings | None = None,
        clock: Clock = utc_now,
        new_id: IdFactory = uuid.uuid4,
    ) -> None:
        self.name = name
        self._producer = producer
        self._registry = registry
        self._engine = engine
        self._settings = settings or ConsumerSettings()
        self._clock = clock
        self._new_id = new_id
        self._inbox = Inbox(name)
        self._parking = Parking(name)
        self._handlers: dict[str, Handler] = {}

    def handles(self, *models: type[Message]) -> Callable[[Handler], Handler]:
        """Register the decorated coroutine as the handler of these message types."""

        def register(handler: Handler) -> Handler:
            for model in models:
                self._handlers[model.TYPE] = handler
            return handler

        return register

    async def process(self, records: Sequence[Record]) -> None:
        """Handle a batch; returns only when every record is handled or dead-lettered.

        Records are split into lanes by partition number: a key lands on the same
        partition number on every topic of the same partition count (an order's
        messages all do), and different lanes are no more concurrent than partitions
        owned by separate instances of the service. Up to
        ``settings.lanes_at_once(name)`` lanes run at once; a lane runs its records in order,
        in transactions of at most ``transaction_max_records``. The caller commits the
        offsets only after every lane's transactions committed.
        """
        items = [self._decode(record) for record in records]
        lanes = _lanes(items, self._settings.transaction_max_records)
        if len(lanes) <= 1:
            for chunk in lanes[0] if lanes else ():
                await self._process_items(chunk)
            return
        gate = asyncio.Semaphore(self._settings.lanes_at_once(self.name))

        async def run(chunks: list[list[_Item]]) -> None:
            async with gate:
                for chunk in chunks:
                    await self._process_items(chunk)

        results = await asyncio.gather(*(run(lane) for lane in lanes), return_exceptions=True)
        for result in results:  # every lane finished (committed or not): now report
            if isinstance(result, BaseException):
                raise result

    async def _process_items(self, items: list[_Item]) -> None:
        """One transaction for ``items``; on failure, each record alone (see module doc)."""
        if not items:
            return
        try:
            async with self._engine.begin() as conn:
                parked = await self._parking.parked(conn, (i.record.key for i in items))
                outgoing: list[dict[str, Any]] = []  # the batch's outbox rows: one INSERT
                outcomes = [await self._apply(conn, item, parked, outgoing) for item in items]
                await flush_deferred(conn, outgoing)
                crashpoint("consumer.before_commit")
            crashpoint("consumer.after_commit")
        except Exception as exc:
            if is_infrastructure(exc):
                await self._pause_for_infrastructure(exc)
            if len(items) > 1:
                log.info("batch_failed_isolating", consumer=self.name, size=len(items))
            for item in items:
                await self._process_alone(item)
            return
        for item, outcome in zip(items, outcomes, strict=True):
            metrics.MESSAGES_CONSUMED.labels(self.name, item.source.topic, outcome).inc()

    def _decode(self, record: Record) -> _Item:
        source = SourceCoordinates(record.topic, record.partition, record.offset)
        envelope: Envelope | None = None
        try:
            envelope = self._registry.parse_envelope(
                record.value, max_bytes=self._settings.max_message_bytes
            )
            message = self._registry.decode_payload(envelope)
            return _Item(record, source, envelope, Decoded(envelope, message), None)
        except PoisonMessage as poison:
            return _Item(record, source, envelope, None, poison)
        except Exception as exc:  # a decoding bug: dead-letter, never stall the partition
            failure = PoisonMessage(ReasonCode.SCHEMA_INVALID, f"decoding failed: {exc!r}")
            return _Item(record, source, envelope, None, failure)

    async def _apply(
        self,
        conn: AsyncConnection,
        item: _Item,
        parked: set[bytes],
        outgoing: list[dict[str, Any]] | None = None,
    ) -> str:
        key = item.record.key
        if key is not None and key in parked and not item.redriven:
            return await self._dead_letter(
                conn, item, ReasonCode.PARKED,
                "an earlier message with this key is dead-lettered; redrive it first",
                "Parked", 0,
            )  # fmt: skip
        if item.poison is not None:
            return await self._dead_letter(
                conn, item, item.poison.reason, item.poison.detail, "PoisonMessage", 0
            )
        assert item.decoded is not None
        envelope = item.decoded.envelope
        handler = self._handlers.get(envelope.type)
        if handler is None:
            # Recorded, so that every delivered message is accounted for (verify).
            await self._inbox.claim(
                conn, envelope.message_id, item.source,
                message_type=envelope.type, status=InboxStatus.IGNORED,
            )  # fmt: skip
            return "ignored"
        claimed = await self._inbox.claim(
            conn, envelope.message_id, item.source, message_type=envelope.type
        )
        if not claimed:
            log.info("duplicate_skipped", consumer=self.name, message_id=str(envelope.message_id))
            return "duplicate"
        with structlog.contextvars.bound_contextvars(
            message_id=str(envelope.message_id),
            correlation_id=envelope.correlation_id,
            message_type=envelope.type,
        ):
            outbox = Outbox(
                conn,
                producer=self._producer,
                clock=self._clock,
                new_id=self._new_id,
                causation=envelope,
                deferred=outgoing,
            )
            if delay := fault_delay_s("consumer.handle"):
                log.warning("fault_delay", point="consumer.handle", seconds=delay)
                await asyncio.sleep(delay)
            await handler(HandlerContext(conn, outbox, envelope, item.decoded.message, item.source))
        if key is not None and item.redriven and await self._parking.unpark(conn, key):
            log.info("key_unparked", consumer=self.name, message_id=str(envelope.message_id))
        return "processed"

    async def _process_alone(self, item: _Item) -> None:
        while True:
            try:
                async with self._engine.begin() as conn:
                    parked = await self._parking.parked(conn, [item.record.key])
                    outgoing: list[dict[str, Any]] = []
                    outcome = await self._apply(conn, item, parked, outgoing)
                    await flush_deferred(conn, outgoing)
                    await self._inbox.clear_attempts(conn, item.source)
                metrics.MESSAGES_CONSUMED.labels(self.name, item.source.topic, outcome).inc()
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
            async with self._engine.begin() as conn:
                return await self._inbox.record_attempt(conn, item.source, _describe(exc))
        except Exception as db_exc:
            await self._pause_for_infrastructure(db_exc)
            raise  # unreachable: the pause raises

    async def _dead_letter_alone(
        self, item: _Item, reason: ReasonCode, exc: Exception, attempts: int
    ) -> None:
        try:
            async with self._engine.begin() as conn:
                outcome = await self._dead_letter(
                    conn, item, reason, _describe(exc), type(exc).__name__, attempts
                )
                await self._inbox.clear_attempts(conn, item.source)
        except Exception as db_exc:
            await self._pause_for_infrastructure(db_exc)
        metrics.MESSAGES_CONSUMED.labels(self.name, item.source.topic, outcome).inc()

    async def _dead_letter(
        self,
        conn: AsyncConnection,
        item: _Item,
        reason: ReasonCode,
        error: str,
        exception: str,
        attempts: int,
    ) -> str:
        envelope = item.envelope
        message_id = envelope.message_id if envelope else _coordinate_id(item.source)
        claimed = await self._inbox.claim(
            conn,
            message_id,
            item.source,
            message_type=envelope.type if envelope else None,
            status=InboxStatus.DEAD_LETTERED,
        )
        if not claimed:
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
        await Outbox(conn, producer=self._producer, new_id=self._new_id).put_record(dead)
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


def _lanes(items: list[_Item], chunk: int) -> list[list[list[_Item]]]:
    """Items grouped by partition number (in their order), each group cut into chunks."""
    by_partition: dict[int, list[_Item]] = {}
    for item in items:
        by_partition.setdefault(item.source.partition, []).append(item)
    return [
        [group[i : i + chunk] for i in range(0, len(group), chunk)]
        for group in by_partition.values()
    ]


def _coordinate_id(source: SourceCoordinates) -> uuid.UUID:
    return uuid.uuid5(_COORDINATE_NAMESPACE, str(source))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
