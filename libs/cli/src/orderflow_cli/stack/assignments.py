"""Which replica holds which partitions: the service consumer groups as the broker
describes them, each member known by its client id (``<service>-<replica>``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from orderflow_messaging.kafka import client_options


async def assignments(bootstrap: str, groups: Iterable[str]) -> dict[str, list[str]]:
    """client id -> its partitions in every group ("topic:partition", sorted)."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=5_000)
    await asyncio.wait_for(admin.start(), 10)
    held: dict[str, list[str]] = {}
    try:
        # One group a request: aiokafka's request for several groups was refused here.
        responses = [await admin.describe_consumer_groups([g]) for g in sorted(set(groups))]
        for response in (r for found in responses for r in found):
            for group in response.groups:
                members = group[5]
                for member in members:
                    client, raw = member[1], member[4]
                    parts = held.setdefault(client, [])
                    if raw:
                        decoded = ConsumerProtocolMemberAssignment.decode(raw)
                        parts += [f"{tp.topic}:{tp.partition}" for tp in decoded.partitions()]
    finally:
        await admin.close()
    return {client: sorted(parts) for client, parts in held.items()}


def compact(partitions: list[str]) -> str:
    """ "payment.commands:0", "payment.commands:2" -> "payment.commands 0,2"."""
    by_topic: dict[str, list[int]] = {}
    for item in partitions:
        topic, _, number = item.rpartition(":")
        by_topic.setdefault(topic, []).append(int(number))
    return "; ".join(f"{t} {','.join(map(str, sorted(p)))}" for t, p in sorted(by_topic.items()))
