"""The outbox relay: publishes committed outbox rows to Kafka, then marks them published.

Order and safety:
- Rows are split into OUTBOX_SLOTS by key. A relay publishes a slot only while it holds
  that slot's session-level advisory lock, on a connection it keeps for the purpose, so
  two relays never publish the same slot at once and per-key order holds; any number of
  relays may run. A relay takes every free slot and keeps it until its connection ends
  (it stops, fails, or dies: PostgreSQL then releases its locks). So the first relay of
  a service publishes for all its replicas, and the others stand by, trying the slots
  they lack every ``LOCK_RETRY_S``, to take over within that time. A pass is then two
  statements, both outside a transaction block: claim the held slots' pending rows,
  then, after the broker acknowledged them, mark them. (With transaction-scoped locks,
  a pass was five round trips: BEGIN, lock, claim, mark, COMMIT.)
- A row is pending while its id is in ``outbox_pending`` (a trigger adds it with the
  outbox row); marking it published deletes that narrow row, and the outbox row itself
  is never updated. A row is marked only after the broker acknowledged it (acks=all,
  idempotent producer). A crash between the two republishes the row: consumers' inboxes
  absorb it. Under load the marks of several passes go together, at most every
  ``KAFKA_RELAY_MARK_INTERVAL_MS`` (one DELETE and one commit instead of one per pass);
  until then the relay leaves the rows it sent out of its claims.
- Rows are selected by being pending, never by a high-water mark, so a row whose
  transaction committed late is never skipped. The claim's snapshot is taken
  after the slot's lock is held, and a relay gives a lock up only when its session ends
  (after its marks committed, or never to publish again): no relay sees rows another
  has published as still pending.
- A trigger NOTIFYs on insert, on the schema's own channel, so an idle relay wakes
  within milliseconds; polling is the fallback when the notification is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Sequence

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging import metrics
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.db import Connection, hot_pool
from orderflow_messaging.header_codec import stored_headers
from orderflow_messaging.kafka import start_producer, stop_producer
from orderflow_messaging.settings import KafkaSettings
from orderflow_messaging.tables import OUTBOX_SLOTS, outbox_channel

log = structlog.get_logger(__name__)


def slot_lock_keys(schema: str) -> list[int]:
    """The advisory lock key of each slot of ``schema``'s outbox. Advisory locks are
    database-wide and every service's schema is in the same database, so the key is
    a 64-bit hash of the schema and the slot: the relays of two services never hold
    each other's slots (a collision would stall one of them while the other runs)."""
    return [
        int.from_bytes(
            hashlib.blake2b(f"orderflow-outbox:{schema}:{slot}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        for slot in range(OUTBOX_SLOTS)
    ]


# The slots this relay does not hold yet, locked for the session where free. The claim
# is a separate statement, on purpose: its snapshot must be taken AFTER the locks are
# held (test_relays caught a one-statement version sending rows twice).
_LOCK_FREE_SLOTS = """
    SELECT slot FROM (
        SELECT s AS slot FROM generate_series(0, $2::int - 1) AS s
        WHERE s <> ALL($3::int[]) OFFSET 0
    ) wanted
    WHERE pg_try_advisory_lock(($1::bigint[])[slot + 1])
"""
# While a relay does not hold every slot (another relay does), how often it tries them.
LOCK_RETRY_S = 0.5
# Rows this relay sent but has not marked yet ($3) are not claimed again. The pending
# ids first, then their rows by primary key: as one join, the planner merged the whole
# outbox's primary key with the pending ids (bench/outbox_marks.py).
_CLAIM = """
    SELECT id, topic, key, value, header_bytes, headers, created_at FROM outbox
    WHERE id = ANY(ARRAY(
        SELECT id FROM outbox_pending
        WHERE slot = ANY($1::int2[]) AND id <> ALL($3::bigint[])
        ORDER BY id LIMIT $2
    ))
    ORDER BY id
"""
_MARK = "DELETE FROM outbox_pending WHERE id = ANY($1::bigint[])"
# The pending table churns: every row is deleted seconds after its insert, and until
# autovacuum comes (a minute) its pages hold mostly dead rows. A plan made while it was
# small scans it whole, and a prepared statement keeps that plan: in a burst, checkout's
# relay claimed and marked by sequential scans over ~10,000 dead rows. Through the
# primary key a scan steps over dead entries (and marks them, so the next one skips
# them). The pool does not reset sessions (db.py): the relay undoes it before release.
_SESSION = "SET enable_seqscan = off"
_SESSION_END = "SELECT pg_advisory_unlock_all(); RESET enable_seqscan"


class OutboxRelay:
    """Moves rows from one service's outbox to Kafka."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        settings: KafkaSettings,
        *,
        schema: str,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
    ) -> None:
        self._engine = engine
        self._pool = hot_pool(engine)
        self._producer = producer
        self._settings = settings
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        # The connection holding this relay's slot locks, and the slots it holds.
        self._conn: Connection | None = None
        self._owned: set[int] = set()
        self._locks_tried_at = -LOCK_RETRY_S
        self._lock_keys = slot_lock_keys(schema)
        # The ids of sent (acknowledged) rows not marked yet.
        self._unmarked: set[int] = set()
        self._marked_at = time.monotonic()
        self._partitions = Partitions()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; errors are logged and retried with backoff."""
        listener = asyncio.create_task(self._listen(stop))
        failures = 0
        try:
            while not stop.is_set():
                # Cleared before the claim: a NOTIFY that arrives during the pass is for
                # rows the claim may not have seen, and must wake the next one.
                self._wake.clear()
                try:
                    published = await self._pass()
                    if self._mark_due():
                        await self.mark_sent()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    log.warning("outbox_relay_failed", error=repr(exc), failures=failures)
                    metrics.RELAY_ERRORS.labels(self._schema).inc()
                    if _producer_broken(exc, failures):
                        await self._renew_producer()
                    await _sleep_or_stop(stop, _backoff(failures))
                    continue
                if published >= self._batch_size:
                    continue  # a full pass: more is waiting
                if published and self._settings.relay_linger_ms:
                    # Let more rows gather, so the next pass sends a larger batch.
                    await _sleep_or_stop(stop, self._settings.relay_linger_ms / 1000)
                if not self._wake.is_set():
                    await self._mark_quietly()  # going idle: nothing left unmarked
                # Pass again only when rows were committed since this one began (or the
                # poll interval passed): no empty pass after every small one.
                await self._wait_for_work(stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self._mark_quietly()
            await self.release_slots()

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer in use (it is replaced after a fatal producer error)."""
        return self._producer

    async def _renew_producer(self) -> None:
        """An idempotent producer whose sequence state the broker lost (a broker killed
        mid-flight) fails every send with OutOfOrderSequenceNumber/UnknownProducerId
        forever; a new producer gets a new producer id. Unsent rows are still pending."""
        old = self._producer
        try:
            self._producer = await start_producer(self._settings)
        except Exception as exc:  # broker still away: keep the old one, try again later
            log.warning("outbox_producer_renew_failed", error=repr(exc))
            return
        log.warning("outbox_producer_renewed", schema=self._schema)
        await stop_producer(old, self._settings)

    async def publish_pending(self) -> int:
        """One pass over the pending rows of the slots this relay holds (taking free
        slots first, when it may), marked at once."""
        published = await self._pass()
        await self.mark_sent()
        return published

    async def _pass(self) -> int:
        """Claim, send, wait for the acknowledgements; the rows wait for ``mark_sent``."""
        conn = await self._connection()
        try:
            await self._take_free_slots(conn)
            if not self._owned:
                return 0
            rows = await conn.fetch(
                _CLAIM, sorted(self._owned), self._batch_size, list(self._unmarked)
            )
            if not rows:
                return 0
            await self._send(rows)
            crashpoint("relay.after_publish")
        except BaseException:
            # Whatever failed, the session goes, and its locks with it: holding slots on
            # a connection in an unknown state could block them for good.
            await self.release_slots()
            raise
        self._unmarked.update(row["id"] for row in rows)
        self._observe(rows)
        return len(rows)

    def _mark_due(self) -> bool:
        interval = self._settings.relay_mark_interval_ms / 1000
        return bool(self._unmarked) and time.monotonic() - self._marked_at >= interval

    async def mark_sent(self) -> None:
        """Mark every row sent since the last mark (one statement)."""
        self._marked_at = time.monotonic()
        if not self._unmarked:
            return
        sent = list(self._unmarked)
        conn = await self._connection()
        try:
            await conn.execute(_MARK, sent)
        except BaseException:
            await self.release_slots()
            raise
        crashpoint("relay.after_mark")
        self._unmarked.difference_update(sent)

    async def _mark_quietly(self) -> None:
        """Mark now; a failure leaves the rows to the next mark (or, if this relay never
        marks again, to a republish that the inboxes absorb)."""
        try:
            await self.mark_sent()
        except Exception as exc:
            log.warning("outbox_mark_failed", error=repr(exc), rows=len(self._unmarked))

    @property
    def owned_slots(self) -> frozenset[int]:
        return frozenset(self._owned)

    async def release_slots(self) -> None:
        """Give every slot up (other relays may take them) and the connection back."""
        conn, self._conn = self._conn, None
        self._owned = set()
        if conn is None:
            return
        if _gone(conn):
            return  # the server closed it, and asyncpg took it back: the locks went with it
        try:
            await conn.execute(_SESSION_END, timeout=5)
        except Exception:
            with contextlib.suppress(Exception):
                conn.terminate()  # the session ends, and its locks with it
        pool = await self._pool.pool()
        with contextlib.suppress(Exception):
            await pool.release(conn)  # type: ignore[arg-type]

    async def _connection(self) -> Connection:
        if self._conn is None or _gone(self._conn):
            if self._conn is not None:
                await self.release_slots()
            pool = await self._pool.pool()
            conn = await pool.acquire()
            try:
                await conn.execute(_SESSION)
            except BaseException:
                conn.terminate()  # whether the setting took is unknown: the session goes
                with contextlib.suppress(Exception):
                    await pool.release(conn)
                raise
            self._conn = conn
        return self._conn

    async def _take_free_slots(self, conn: Connection) -> None:
        if len(self._owned) >= OUTBOX_SLOTS:
            return
        now = time.monotonic()
        if now - self._locks_tried_at < LOCK_RETRY_S:
            return
        self._locks_tried_at = now
        taken = await conn.fetch(
            _LOCK_FREE_SLOTS, self._lock_keys, OUTBOX_SLOTS, sorted(self._owned)
        )
        self._owned.update(int(row[0]) for row in taken)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        """Build one record batch per topic-partition, in claim order, hand each to the
        producer, then wait for all acknowledgements once. (``send`` per row cost the
        relay ~25 us of Python a row: the pure-Python murmur2 partitioner, partition
        lists and a future per row.) A row larger than a batch gets one of its own; a
        partition's batches are sent in order."""
        producer = self._producer
        futures: list[asyncio.Future[object]] = []
        open_batches: dict[tuple[str, int], BatchBuilder] = {}
        topics: dict[str, list[int]] = {}
        for row in rows:
            topic, key, value = row["topic"], row["key"], row["value"]
            headers = stored_headers(row["header_bytes"], row["headers"])
            if topic not in topics:
                topics[topic] = sorted(await producer.partitions_for(topic))
            partition = self._partitions.of(topics[topic], key)
            batch = open_batches.get((topic, partition))
            if batch is not None and _append(batch, key, value, headers):
                continue
            if batch is not None:  # full: submit it, start another
                futures.append(await _submit(producer, batch, topic, partition))
            batch = open_batches[(topic, partition)] = producer.create_batch()
            # The first record of a batch always fits, however large (as with ``send``).
            _append(batch, key, value, headers)
        for (topic, partition), batch in open_batches.items():
            futures.append(await _submit(producer, batch, topic, partition))
        await asyncio.wait_for(asyncio.gather(*futures), self._settings.publish_timeout_s)

    def _observe(self, rows: Sequence[asyncpg.Record]) -> None:
        now = time.time()
        metrics.OUTBOX_PUBLISHED.labels(self._schema).inc(len(rows))
        lag = metrics.OUTBOX_LAG.labels(self._schema)
        for row in rows:
            lag.observe(max(0.0, now - row["created_at"].timestamp()))

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        if self._wake.is_set():
            return
        waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=self._poll_interval_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Keep a LISTEN connection open; reconnect after database restarts."""
        while not stop.is_set():
            try:
                pool = await self._pool.pool()
                async with pool.acquire() as conn:
                    channel = outbox_channel(self._schema)
                    await conn.add_listener(channel, self._on_notify)
                    try:
                        while not stop.is_set() and not conn.is_closed():
                            await _sleep_or_stop(stop, 1.0)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(channel, self._on_notify)
            except Exception as exc:
                log.info("outbox_listen_reconnecting", error=repr(exc))
                await _sleep_or_stop(stop, 1.0)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if payload == self._schema:
            self._wake.set()


def _append(
    batch: BatchBuilder, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> bool:
    return batch.append(timestamp=None, key=key, value=value, headers=headers) is not None


async def _submit(
    producer: AIOKafkaProducer, batch: BatchBuilder, topic: str, partition: int
) -> asyncio.Future[object]:
    batch.close()  # nothing else may join it (the producer's own send would)
    future: asyncio.Future[object] = await producer.send_batch(batch, topic, partition=partition)
    return future


class Partitions:
    """Kafka's default partitioning (murmur2 of the key, modulo the partition count),
    remembered per key: the relay sends each order's key several times, and aiokafka's
    murmur2 is pure Python. A key without a partition count change maps to the same
    partition as with ``producer.send``."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._index: dict[bytes, int] = {}

    def of(self, partitions: list[int], key: bytes | None) -> int:
        """``partitions``: the topic's, sorted (as the producer's partitioner gets them)."""
        if key is None:
            return random.choice(partitions)
        index = self._index.get(key)
        if index is None:
            if len(self._index) >= self._max_keys:
                self._index.clear()
            index = self._index[key] = int(murmur2(key)) & 0x7FFFFFFF
        return partitions[index % len(partitions)]


def _gone(conn: Connection) -> bool:
    """The connection is closed. When the server closed it (a database restart), asyncpg
    hands it back to its pool, and the proxy we hold then refuses every call."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


_FATAL_PRODUCER_ERRORS = ("OutOfOrderSequenceNumber", "UnknownProducerId", "ProducerFenced")


def _producer_broken(exc: BaseException, failures: int) -> bool:
    """A producer error no retry of the same producer can cure, or a long failure streak
    (whatever the cause, a fresh producer costs little)."""
    return any(name in repr(exc) for name in _FATAL_PRODUCER_ERRORS) or failures % 10 == 0


def _backoff(failures: int) -> float:
    return float(min(10.0, 0.1 * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
