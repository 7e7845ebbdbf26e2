"""Micro-benchmark: how fast one service's consumer works through a backlog of commands.

Produces N commands straight to the service's topic (as the saga would: envelope,
headers, key = order id), waits until the service's consumer group has no lag, and
reports messages/s and the CPU milliseconds per message of the service process and of
PostgreSQL. A backlog measures throughput (full batches), not latency. Against the
running stack (`orderflow up`):

    .venv/bin/python -m bench.consumer_rate --service payment --messages 2000

payment: N AuthorizePayment (tok_ok), then N CapturePayment for the same orders.
inventory: N ReserveStock of one unit each (stock is topped up first).

``--sampled R`` gives every command a W3C ``traceparent`` as a traced producer writes it,
a share R of them sampled (what a service with tracing on receives; `make bench-tracing`
compares a service's CPU per message with tracing off and on this way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from bench.load import cpu_now, process_usage
from bench.run import stack_pids
from orderflow_cli.demo import NORMAL_SKUS
from orderflow_cli.stack import read_env, services
from orderflow_contracts import topics
from orderflow_contracts.common import StockLine
from orderflow_contracts.inventory import ReserveStock
from orderflow_contracts.payment import AuthorizePayment, CapturePayment
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.kafka import client_options
from orderflow_messaging.registry import Message

TOKEN = "tok_ok"  # noqa: S105 - the simulated gateway's approving test token


def _traceparent(sampled: float) -> tuple[str, bytes]:
    """A new trace's context; flags as the SDK writes them (random trace id bit, and
    the sampled bit for a share ``sampled``)."""
    flags = "03" if random.random() < sampled else "02"
    value = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{flags}"
    return ("traceparent", value.encode())


def _record(
    message: Message, order_id: str, sampled: float | None
) -> tuple[bytes, list[tuple[str, bytes]]]:
    envelope = Envelope(
        message_id=uuid.uuid4(),
        type=message.TYPE,
        version=message.VERSION,
        occurred_at=datetime.now(UTC),
        producer="bench",
        correlation_id=order_id,
        payload=message.model_dump(mode="json"),
    )
    headers = envelope.kafka_headers()
    if sampled is not None:
        headers.append(_traceparent(sampled))
    return envelope.to_bytes(), headers


async def _lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    parts = [tp for tp in offsets if tp.topic.endswith(".commands")]
    ends = await consumer.end_offsets(parts) if parts else {}
    return sum(max(0, ends[tp] - offsets[tp].offset) for tp in parts)


async def _phase(
    name: str, topic: str, messages: list[tuple[str, Message]], ctx: dict[str, Any]
) -> dict[str, Any]:
    producer: AIOKafkaProducer = ctx["producer"]
    pids = {k: v for k, v in ctx["pids"].items() if k in (ctx["service"], "postgres")}
    before = cpu_now(pids)
    started = time.monotonic()
    futures = []
    for order_id, message in messages:
        value, headers = _record(message, order_id, ctx["sampled"])
        futures.append(await producer.send(topic, value, key=order_id.encode(), headers=headers))
    await asyncio.gather(*futures)
    await asyncio.sleep(0.5)
    while await _lag(ctx["admin"], ctx["consumer"], ctx["service"]) > 0:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    elapsed = time.monotonic() - started
    usage = process_usage(pids, elapsed, before)
    n = len(messages)
    return {
        "phase": name,
        "messages": n,
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(n / elapsed, 1),
        "cpu_ms_per_msg": {
            k: round(v["cpu_pct"] / 100 * elapsed * 1000 / n, 2) for k, v in usage.items()
        },
    }


async def main(service: str, count: int, sampled: float | None = None) -> list[dict[str, Any]]:
    env = read_env()
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    producer = AIOKafkaProducer(
        **client_options(bootstrap), acks="all", enable_idempotence=True, linger_ms=5
    )
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    consumer = AIOKafkaConsumer(**client_options(bootstrap))
    await producer.start()
    await admin.start()
    await consumer.start()
    ctx = {"producer": producer, "admin": admin, "consumer": consumer, "service": service,
           "sampled": sampled}  # fmt: skip
    ctx["pids"] = stack_pids()
    orders = [f"bench-{uuid.uuid4()}" for _ in range(count)]
    results = []
    try:
        if service == "payment":
            auth: list[tuple[str, Message]] = [
                (o, AuthorizePayment(order_id=o, amount_minor=1000, currency="EUR",
                                     payment_token=TOKEN, idempotency_key=f"{o}:auth"))
                for o in orders
            ]  # fmt: skip
            results.append(await _phase("authorize", topics.PAYMENT_COMMANDS, auth, ctx))
            capture: list[tuple[str, Message]] = [
                (o, CapturePayment(order_id=o, amount_minor=1000, currency="EUR",
                                   idempotency_key=f"{o}:capture"))
                for o in orders
            ]  # fmt: skip
            results.append(await _phase("capture", topics.PAYMENT_COMMANDS, capture, ctx))
        elif service == "inventory":
            async with httpx.AsyncClient() as client:
                for sku in NORMAL_SKUS:
                    await client.put(
                        f"{services.url('inventory')}/stock/{sku}",
                        json={"available": 10 * count + 1000},
                    )
            reserve: list[tuple[str, Message]] = [
                (o, ReserveStock(order_id=o, lines=[StockLine(sku=NORMAL_SKUS[i % len(NORMAL_SKUS)],
                                                              quantity=1)]))
                for i, o in enumerate(orders)
            ]  # fmt: skip
            results.append(await _phase("reserve", topics.INVENTORY_COMMANDS, reserve, ctx))
        else:
            raise SystemExit(f"unsupported service {service!r}")
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", default="payment", choices=["payment", "inventory"])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sampled", type=float, help="traceparent on every command, share sampled")
    args = parser.parse_args()
    for row in asyncio.run(main(args.service, args.messages, args.sampled)):
        print(json.dumps(row))
