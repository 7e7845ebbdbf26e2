"""The upstream Kafka door under load: SubmitOrder v2 on ``orders.inbound`` (key and
correlation id = the upstream reference), answers read from ``orders.inbound.replies``.

Open loop and cheap: the records are built before the clock starts, one idempotent
``acks=all`` producer (the project's settings, orderflow_messaging.kafka) sends every
``SLICE_S`` the records that are due without awaiting each ack, and the submit time of
each reference is when it was handed to the producer. The order id of a reference comes
from its OrderSubmissionAccepted reply (the public contract, not checkout's tables); one
consumer, positioned at the end of the reply topic before anything is sent, reads them
in the background. Completion times come from ``orders.saga_history`` (bench/load.py).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.load import (
    Offer,
    Offered,
    Progress,
    collect,
    cpu_ms_per_order,
    cpu_now,
    percentiles,
    process_usage,
)
from orderflow_cli.demo import NORMAL_SKUS, TERMINAL
from orderflow_contracts.common import Address
from orderflow_contracts.inbound import SubmitOrder, SubmittedLine
from orderflow_messaging.envelope import Envelope, Headers
from orderflow_messaging.kafka import client_options, producer_options
from orderflow_messaging.settings import KafkaSettings

INBOUND, REPLIES = "orders.inbound", "orders.inbound.replies"
SLICE_S = 0.01
ADDRESS = Address(name="Bench Upstream", line1="1 Load Street", city="Berlin",
                  postcode="10115", country="DE")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Record:
    reference: str
    key: bytes
    value: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Answer:
    order_id: str | None  # None: OrderSubmissionRejected
    at: float  # when the bench read it (epoch s)


def submission(reference: str, i: int) -> Record:
    """A valid SubmitOrder v2 in its envelope, as an upstream system sends it."""
    message = SubmitOrder(
        reference=reference,
        customer_id=f"bench-{i % 1000}",
        lines=[SubmittedLine(sku=NORMAL_SKUS[i % len(NORMAL_SKUS)], quantity=1)],
        currency="EUR",
        shipping_address=ADDRESS,
        payment_token="tok_ok",  # noqa: S106 (the test gateway's approving token)
        sales_channel="bench",
    )
    envelope = Envelope(
        message_id=uuid.uuid4(),
        type=message.TYPE,
        version=message.VERSION,
        occurred_at=datetime.now(UTC),
        producer="bench-upstream",
        correlation_id=reference,
        payload=message.model_dump(mode="json"),
    )
    return Record(reference, reference.encode(), envelope.to_bytes(), envelope.kafka_headers())


class Door:
    """One producer to orders.inbound, one reader of orders.inbound.replies."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            **producer_options(KafkaSettings(bootstrap_servers=bootstrap, client_id="bench"))
        )
        self._consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None)
        self._prefix = f"bench-{uuid.uuid4().hex[:8]}-"
        self._count = 0
        self.answers: dict[str, Answer] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.start()
        await self._consumer.start()
        parts = [TopicPartition(REPLIES, p) for p in await self._producer.partitions_for(REPLIES)]
        self._consumer.assign(parts)
        for tp, end in (await self._consumer.end_offsets(parts)).items():
            self._consumer.seek(tp, end)
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._consumer.stop()
        await self._producer.stop()

    async def _read(self) -> None:
        prefix = self._prefix.encode()
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.time()
            for batch in batches.values():
                for record in batch:
                    if record.key is None or not record.key.startswith(prefix):
                        continue
                    reply = json.loads(record.value)
                    accepted = reply["type"] == "OrderSubmissionAccepted"
                    order_id = reply["payload"]["order_id"] if accepted else None
                    self.answers[record.key.decode()] = Answer(order_id, now)

    def prepare(self, count: int, rate: float = math.inf) -> Offer:
        """``count`` submissions at ``rate`` per second (inf: all at once), built now."""
        records = [submission(f"{self._prefix}{self._count + i}", i) for i in range(count)]
        self._count += count

        async def offer() -> Progress:
            if self._reader is None or self._reader.done():
                raise RuntimeError("the reply reader is not running (Door.start)")
            sent, failed, lag_s = await self._send(records, rate)
            return lambda: self._progress(sent, failed, lag_s)

        return offer

    async def _send(
        self, records: list[Record], rate: float
    ) -> tuple[dict[str, float], int, float]:
        """Send on schedule: submit time per acknowledged reference, how many sends
        failed, and the largest delay of a record behind its schedule (the generator's
        own lag)."""
        sent: dict[str, float] = {}
        acks: list[tuple[str, asyncio.Future[Any]]] = []
        start, done, lag_s = time.monotonic(), 0, 0.0
        while done < len(records):
            now = time.monotonic()
            due = len(records) if math.isinf(rate) else int((now - start) * rate) + 1
            due = min(len(records), due)
            if not math.isinf(rate):
                lag_s = max(lag_s, now - (start + done / rate))
            for record in records[done:due]:
                sent[record.reference] = time.time()
                ack = await self._producer.send(
                    INBOUND, record.value, key=record.key, headers=record.headers
                )
                acks.append((record.reference, ack))
            done = due
            if done < len(records):
                await asyncio.sleep(SLICE_S)
        results = await asyncio.gather(*(a for _, a in acks), return_exceptions=True)
        for (reference, _), result in zip(acks, results, strict=True):
            if isinstance(result, BaseException):
                del sent[reference]
        return sent, len(records) - len(sent), lag_s

    def _progress(self, sent: dict[str, float], failed: int, lag_s: float) -> Offered:
        placed: dict[str, float] = {}
        rejected_at: list[float] = []
        for reference, at in sent.items():
            answer = self.answers.get(reference)
            if answer is None:
                continue
            if answer.order_id is None:
                rejected_at.append(answer.at)
            else:
                placed[answer.order_id] = at
        return Offered(
            placed,
            expected=len(sent) - len(rejected_at),
            refused=len(rejected_at) + failed,
            generator_lag_ms=round(lag_s * 1000, 1),
            rejected_at=rejected_at,
        )


async def run_burst(door: Door, ctx: dict[str, Any], n: int, timeout_s: float) -> dict[str, Any]:
    """``n`` submissions at once through the door; time until every order is terminal,
    orders/s, and CPU per order of every process (the bench's own excluded)."""
    offer = door.prepare(n)
    cpu_before = cpu_now(ctx["pids"], ctx["exclude"])
    t0, start = time.time(), time.monotonic()
    progress = await offer()
    produce_s = time.monotonic() - start
    found = await collect(progress, ctx["db"], timeout_s, statuses=TERMINAL, poll_s=0.25)
    wall_s = time.monotonic() - start
    processes = process_usage(ctx["pids"], wall_s, cpu_before, ctx["exclude"])
    offered = progress()
    rejected = offered.rejected_at
    ends = [at for _, at in found.values()] + rejected
    finished = len(found) + len(rejected)
    timed_out = len(found) < offered.expected
    seconds = wall_s if timed_out or not ends else max(ends) - t0
    total, by_process = cpu_ms_per_order(processes, finished)
    latencies = [max(0.0, (at - offered.placed[o]) * 1000) for o, (_, at) in found.items()]
    return {
        "n": n,
        "completed": sum(1 for status, _ in found.values() if status == "COMPLETED"),
        "other_terminal": sum(1 for status, _ in found.values() if status != "COMPLETED"),
        "rejected_at_door": len(rejected),
        "unfinished": n - finished,
        "timed_out": timed_out,
        "produce_s": round(produce_s, 2),
        "seconds": round(seconds, 2),
        "orders_per_s": round(finished / seconds, 1) if seconds > 0 else None,
        **percentiles(latencies),
        "cpu_ms_per_order": total,
        "cpu_ms_per_order_by_process": by_process,
        "processes": processes,
    }
