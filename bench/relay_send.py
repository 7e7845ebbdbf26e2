"""Micro-benchmark: the relay's send of one pass, per row (``producer.send``) vs in
record batches per topic-partition (what ``OutboxRelay`` does since the fourth session
of issue #11).

Rows are shaped like a pass of the coordinator's relay (~1 KB values, five headers,
about seven rows per key) and go to a scratch topic on the stack's broker, acks=all,
idempotent producer, each pass waiting for its acknowledgements. Reports this
process's CPU per row and the wall time per pass, alternating the two shapes. Needs
the stack's Kafka (``orderflow up``).

    .venv/bin/python -m bench.relay_send [--rows 300] [--passes 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from orderflow_cli.stack import read_env
from orderflow_messaging.header_codec import pack_headers, unpack_headers
from orderflow_messaging.kafka import start_producer, stop_producer
from orderflow_messaging.relay import OutboxRelay, Partitions
from orderflow_messaging.settings import KafkaSettings

TOPIC = "bench.relay-send"
HEADERS = pack_headers(
    [
        ("type", b"StockReserved"),
        ("version", b"1"),
        ("message_id", b"01a24853"),
        ("correlation_id", b"order"),
        ("producer", b"inventory"),
    ]
)

Row = dict[str, Any]
Send = Callable[[Sequence[Row]], Awaitable[None]]


def rows(n: int) -> list[Row]:
    keys = [f"order-{uuid.uuid4()}".encode() for _ in range(n // 7 + 1)]
    return [
        {
            "topic": TOPIC,
            "key": keys[i % len(keys)],
            "value": b"x" * 900,
            "header_bytes": HEADERS,
            "headers": None,
        }
        for i in range(n)
    ]


def per_row(producer: AIOKafkaProducer, settings: KafkaSettings) -> Send:
    """The relay's send before: one ``producer.send`` per row."""

    async def send(batch: Sequence[Row]) -> None:
        futures = [
            await producer.send(
                r["topic"],
                value=r["value"],
                key=r["key"],
                headers=unpack_headers(r["header_bytes"]),
            )
            for r in batch
        ]
        await asyncio.wait_for(asyncio.gather(*futures), settings.publish_timeout_s)

    return send


def batched(producer: AIOKafkaProducer, settings: KafkaSettings) -> Send:
    """The relay's own ``_send`` (record batches per topic-partition)."""
    relay = OutboxRelay.__new__(OutboxRelay)
    relay._producer = producer
    relay._settings = settings
    relay._partitions = Partitions()
    return relay._send


async def measure(name: str, send: Send, n: int, passes: int) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(passes):
        await send(rows(n))
    cpu_us = (time.process_time() - cpu) / (n * passes) * 1e6
    wall_ms = (time.perf_counter() - wall) / passes * 1000
    print(f"{name:8s} {cpu_us:6.1f} us CPU per row, {wall_ms:6.1f} ms wall per pass of {n}")


async def main(n: int, passes: int, rounds: int) -> None:
    settings = KafkaSettings(bootstrap_servers=read_env()["KAFKA_BOOTSTRAP_SERVERS"])
    producer = await start_producer(settings)
    try:
        await per_row(producer, settings)(rows(10))  # the topic and its metadata first
        for _ in range(rounds):
            await measure("per row", per_row(producer, settings), n, passes)
            await measure("batched", batched(producer, settings), n, passes)
    finally:
        await stop_producer(producer, settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.passes, args.rounds))
