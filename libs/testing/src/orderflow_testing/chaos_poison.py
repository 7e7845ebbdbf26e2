"""The poison matrix for chaos tests: bad records for every topic a service consumes,
what each consumer must do with each of them, and the Kafka and database reads that
check it.

Every kind goes to every partition of every consumed topic. Most kinds can never be
handled by anyone: they go to ``<topic>.dlq`` with a reason code. Two kinds depend on
the consumer:
- a payload that breaks its contract (wrong types, missing fields, a negative amount) is
  SCHEMA_INVALID, except at the upstream door (a topic no service produces), which
  answers it with a rejection the upstream can act on (docs/upstream.md);
- a valid message about an order (or product) nobody knows: see ``UNKNOWN_SUBJECT``.
Synchronous wrappers: each runs its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from orderflow_contracts import catalog, inventory, orders, payment, promotions, shipping
from orderflow_contracts import topics as t
from orderflow_contracts.catalogue import CATALOGUE, SERVICES
from orderflow_contracts.example_payloads import payloads
from orderflow_messaging.errors import ReasonCode
from orderflow_messaging.kafka import client_options
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings
from orderflow_testing.chaos_faults import query

DEAD_LETTERED = "dead_lettered"
PROCESSED = "processed"
_KAFKA_TIMEOUT_MS = 15_000
# The local broker takes records up to 2 MiB (deploy/kafka/server.properties.template).
BROKER_MAX_BYTES = 2_097_152


@dataclass(frozen=True)
class Outcome:
    """What one consumer must do with a record: its inbox status, and for a dead letter
    the dlq.reason."""

    status: str
    reason: str | None = None

    @classmethod
    def dead(cls, reason: ReasonCode) -> Outcome:
        return cls(DEAD_LETTERED, reason.value)


HANDLED = Outcome(PROCESSED)
REFUSED = Outcome.dead(ReasonCode.PERMANENT_FAILURE)

# A valid message about an order (or a product) nobody knows, per consumed topic, and
# what each consumer does with it. The owner of the state refuses it (a dead letter);
# a participant answers a saga command anyway (it trusts the coordinator, which then
# refuses the answer); the history projection takes facts in any order across topics,
# so to it an unknown order is an early one. None: every message on the topic creates
# its order (OrderPlaced, SubmitOrder), so none can be about an unknown one.
UNKNOWN_SUBJECT: dict[str, tuple[type[Message], dict[str, Outcome]] | None] = {
    t.CATALOG_EVENTS: (catalog.PriceChanged, {"checkout": REFUSED}),
    t.ORDERS_INBOUND: None,
    t.CHECKOUT_EVENTS: None,
    t.INVENTORY_COMMANDS: (inventory.CommitStock, {"inventory": REFUSED}),
    t.INVENTORY_EVENTS: (inventory.StockCommitted, {"orders": REFUSED}),
    t.PROMOTIONS_COMMANDS: (promotions.ReleasePromotions, {"promotions": HANDLED}),
    t.PROMOTIONS_EVENTS: (promotions.PromotionsReleased, {"orders": REFUSED}),
    t.PAYMENT_COMMANDS: (payment.CapturePayment, {"payment": HANDLED}),
    t.PAYMENT_EVENTS: (payment.PaymentCaptured, {"orders": REFUSED}),
    t.SHIPPING_COMMANDS: (shipping.CancelShipment, {"shipping": HANDLED}),
    t.SHIPPING_EVENTS: (shipping.ShipmentDelivered, {"orders": REFUSED, "history": HANDLED}),
    t.ORDERS_EVENTS: (orders.OrderCompleted, {"history": HANDLED}),
    # A level may come before its product: the availability projection keeps it.
    t.INVENTORY_STOCK: (inventory.StockLevelChanged, {"catalog": HANDLED, "checkout": HANDLED}),
}


@dataclass(frozen=True)
class TopicCase:
    """A consumed topic: who reads it and what travels on it."""

    topic: str
    consumers: tuple[str, ...]
    messages: tuple[type[Message], ...]
    door: bool

    def every(self, outcome: Outcome) -> dict[str, Outcome]:
        return dict.fromkeys(self.consumers, outcome)

    def against_contract(self) -> dict[str, Outcome]:
        return self.every(HANDLED if self.door else Outcome.dead(ReasonCode.SCHEMA_INVALID))

    def sample(self) -> Message:
        """The golden example of the topic's first type, newest version."""
        return newest_example(self.messages[0].TYPE)


def topic_cases(groups: Mapping[str, Iterable[str]]) -> list[TopicCase]:
    """Every topic some service consumes, from the catalogue; ``groups`` maps each
    consumer (group) to its topics (``orderflow_cli.verify.consumer_groups``)."""
    readers: dict[str, list[str]] = {}
    for group, topics in groups.items():
        for topic in topics:
            readers.setdefault(topic, []).append(group)
    return [
        TopicCase(
            entry.topic,
            tuple(sorted(readers[entry.topic])),
            entry.messages,
            door=not set(entry.producers) & set(SERVICES),
        )
        for entry in CATALOGUE
        if entry.topic in readers
    ]


@cache
def examples() -> tuple[Message, ...]:
    """The golden sample bodies (one per type and version), built once."""
    return payloads()


def newest_example(type_: str) -> Message:
    """The golden example body of ``type_`` at its newest version."""
    return max((m for m in examples() if type_ == m.TYPE), key=lambda m: m.VERSION)


@dataclass(frozen=True)
class Poison:
    """One bad record: where it goes, and what each consumer of its topic must do."""

    kind: str
    topic: str
    partition: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    expect: dict[str, Outcome]


@dataclass(frozen=True)
class Sent:
    poison: Poison
    offset: int

    @property
    def coordinates(self) -> tuple[str, int, int]:
        return (self.poison.topic, self.poison.partition, self.offset)

    def __str__(self) -> str:
        return f"{self.poison.kind} at {self.poison.topic}/{self.poison.partition}@{self.offset}"


# ---- the kinds ---------------------------------------------------------------------------
# key, value, headers, what each consumer must do
Made = tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...], dict[str, Outcome]]
Kind = Callable[[TopicCase, str], Made | None]


def envelope(type_: str, version: int, payload: Any, correlation_id: str) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()),
        "type": type_,
        "version": version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "chaos-poison",
        "correlation_id": correlation_id,
        "payload": payload,
    }


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def _sample_envelope(case: TopicCase, key: str, payload: Any = None) -> dict[str, Any]:
    sample = case.sample()
    body = sample.model_dump(mode="json") if payload is None else payload
    return envelope(sample.TYPE, sample.VERSION, body, key)


def _malformed_json(case: TopicCase, key: str) -> Made:
    # No key either: a keyless record must not trip the per-key parking. (A compacted
    # topic's broker refuses keyless records: there it has a key.)
    return (
        key.encode() if case.topic in t.COMPACTED else None,
        b'{"message_id": "' + key.encode() + b'", "type": ',
        (),
        case.every(Outcome.dead(ReasonCode.MALFORMED_JSON)),
    )


def _invalid_utf8(case: TopicCase, key: str) -> Made:
    value = b"\xff\xfe\x00poison " + key.encode() + b" \xc3\x28"
    return key.encode(), value, (), case.every(Outcome.dead(ReasonCode.INVALID_ENCODING))


BAD_HEADERS = (("type", b"\xff\xfe\xfd"), ("trace", b"\x00\xc3\x28poison"))


def _bad_header(case: TopicCase, key: str) -> Made:
    # faststream decodes every header as UTF-8: one bad byte must not stall the partition,
    # and the dead letter keeps the original header bytes.
    value = _json(envelope("PoisonProbe", 1, {"note": "bad header bytes"}, key))
    return key.encode(), value, BAD_HEADERS, case.every(Outcome.dead(ReasonCode.UNKNOWN_TYPE))


def _tombstone(case: TopicCase, key: str) -> Made:
    return key.encode(), None, (), case.every(Outcome.dead(ReasonCode.MALFORMED_JSON))


def _unknown_type(case: TopicCase, key: str) -> Made:
    value = _json(envelope("Exploded", 1, {"order_id": key}, key))
    return key.encode(), value, (), case.every(Outcome.dead(ReasonCode.UNKNOWN_TYPE))


def _unknown_version(case: TopicCase, key: str) -> Made:
    data = _sample_envelope(case, key) | {"version": 99}
    return key.encode(), _json(data), (), case.every(Outcome.dead(ReasonCode.UNKNOWN_VERSION))


def _envelope_wrong_types(case: TopicCase, key: str) -> Made:
    data = {
        "message_id": 12345, "type": ["not", "a", "string"], "version": "two",
        "occurred_at": True, "producer": 7, "correlation_id": {"id": key}, "payload": "none",
    }  # fmt: skip
    return key.encode(), _json(data), (), case.every(Outcome.dead(ReasonCode.INVALID_ENVELOPE))


def _envelope_missing_fields(case: TopicCase, key: str) -> Made:
    full = _sample_envelope(case, key)
    data = {k: full[k] for k in ("type", "version", "payload")}
    return key.encode(), _json(data), (), case.every(Outcome.dead(ReasonCode.INVALID_ENVELOPE))


def wrong_type(value: Any) -> Any:
    """A JSON value of another type than ``value``."""
    if isinstance(value, bool):
        return "not a boolean"
    if isinstance(value, int | float):
        return "not a number"
    if isinstance(value, list):
        return "not a list"
    if isinstance(value, dict):
        return ["not", "an", "object"]
    return 12345  # strings (and nulls of optional fields)


def _payload_wrong_types(case: TopicCase, key: str) -> Made:
    good = case.sample().model_dump(mode="json")
    data = _sample_envelope(case, key, {k: wrong_type(v) for k, v in good.items()})
    return key.encode(), _json(data), (), case.against_contract()


def _payload_missing_fields(case: TopicCase, key: str) -> Made:
    return key.encode(), _json(_sample_envelope(case, key, {})), (), case.against_contract()


AMOUNT_WORDS = ("quantity", "price", "amount", "total", "available")


def negated_amounts(data: Any) -> tuple[Any, int]:
    """``data`` with every number named like an amount or quantity set to -1, and how
    many were changed."""
    if isinstance(data, list):
        items = [negated_amounts(v) for v in data]
        return [v for v, _ in items], sum(n for _, n in items)
    if not isinstance(data, dict):
        return data, 0
    out, changed = {}, 0
    for name, value in data.items():
        numeric = isinstance(value, int) and not isinstance(value, bool)
        if numeric and any(word in name for word in AMOUNT_WORDS):
            out[name], changed = -1, changed + 1
        else:
            out[name], n = negated_amounts(value)
            changed += n
    return out, changed


def _negative_amount(case: TopicCase, key: str) -> Made | None:
    """Negative quantities or prices in the first type on the topic that has any."""
    names = {m.TYPE for m in case.messages}
    for sample in (m for m in examples() if m.TYPE in names):
        payload, changed = negated_amounts(sample.model_dump(mode="json"))
        if changed:
            data = envelope(sample.TYPE, sample.VERSION, payload, key)
            return key.encode(), _json(data), (), case.against_contract()
    return None


def unknown_subject_message(model: type[Message], subject: str) -> dict[str, Any]:
    """The golden example of ``model`` about ``subject`` (an order id, or a SKU for a
    product message): every mention of the example's own subject is replaced, so its
    idempotency key is new too."""
    sample = newest_example(model.TYPE)
    payload = sample.model_dump(mode="json")
    field = "order_id" if "order_id" in payload else "sku"
    text = json.dumps(payload).replace(json.dumps(payload[field])[1:-1], subject)
    return envelope(sample.TYPE, sample.VERSION, json.loads(text), subject)


def _unknown_subject(case: TopicCase, key: str) -> Made | None:
    spec = UNKNOWN_SUBJECT[case.topic]
    if spec is None:
        return None
    model, expect = spec
    # SKUs are upper case (contracts.common.Sku); an order id is any string.
    subject = key.upper() if "sku" in model.model_fields else key
    data = unknown_subject_message(model, subject)
    return subject.encode(), _json(data), (), expect


def _unknown_subject_bad_header(case: TopicCase, key: str) -> Made | None:
    """A message a consumer can read, with a bad header: handled (or refused) exactly as
    without it, the header bytes kept in a dead letter."""
    made = _unknown_subject(case, key)
    return None if made is None else (made[0], made[1], BAD_HEADERS, made[3])


def _oversized(case: TopicCase, key: str) -> Made:
    """Just over what a consumer takes (the broker takes more), so it reaches them."""
    limit = ConsumerSettings().max_message_bytes
    data = _sample_envelope(case, key)
    data["payload"] = {**data["payload"], "padding": "x" * limit}
    return key.encode(), _json(data), (), case.every(Outcome.dead(ReasonCode.OVERSIZED))


# What a record batch of one record costs besides its key, value and headers (61-byte
# batch header, record varints), with room to spare.
_BATCH_OVERHEAD = 256


def _at_broker_limit(case: TopicCase, key: str) -> Made:
    """As large as the broker takes on the topic: its dead letter (the same bytes plus
    the dlq.* headers) is larger still, and must reach the DLQ all the same."""
    room = BROKER_MAX_BYTES - _BATCH_OVERHEAD - len(key)
    head = b'{"message_id": "' + key.encode() + b'", "padding": "'
    value = head + b"x" * (room - len(head) - 2) + b'"}'
    return key.encode(), value, (), case.every(Outcome.dead(ReasonCode.OVERSIZED))


KINDS: dict[str, Kind] = {
    "malformed_json": _malformed_json,
    "invalid_utf8": _invalid_utf8,
    "non_utf8_header": _bad_header,
    "tombstone": _tombstone,
    "unknown_type": _unknown_type,
    "unknown_version": _unknown_version,
    "envelope_wrong_types": _envelope_wrong_types,
    "envelope_missing_fields": _envelope_missing_fields,
    "payload_wrong_types": _payload_wrong_types,
    "payload_missing_fields": _payload_missing_fields,
    "negative_amount": _negative_amount,
    "unknown_subject": _unknown_subject,
    "unknown_subject_non_utf8_header": _unknown_subject_bad_header,
    "oversized": _oversized,
    "oversized_at_broker_limit": _at_broker_limit,
}


# 2 MiB each, twice over with their dead letters: once per topic proves the point.
ONCE_PER_TOPIC = frozenset({"oversized_at_broker_limit"})


def poison_matrix(cases: Sequence[TopicCase], partitions: Mapping[str, int]) -> list[Poison]:
    """Every applicable kind on every partition of every case's topic (ONCE_PER_TOPIC: on
    partition 0); each record has a key (and ids) of its own, so no two records can park
    or duplicate each other."""
    matrix = []
    for case in cases:
        for partition in range(partitions[case.topic]):
            for kind, make in KINDS.items():
                if partition > 0 and kind in ONCE_PER_TOPIC:
                    continue
                made = make(case, f"poison-{kind.replace('_', '-')}-{uuid.uuid4().hex[:12]}")
                if made is not None:
                    key, value, headers, expect = made
                    matrix.append(Poison(kind, case.topic, partition, key, value, headers, expect))
    return matrix


# ---- Kafka -----------------------------------------------------------------------------------
def partition_counts(bootstrap: str, topics: Iterable[str]) -> dict[str, int]:
    async def run() -> dict[str, int]:
        admin = AIOKafkaAdminClient(**client_options(bootstrap))
        await asyncio.wait_for(admin.start(), 30)
        try:
            described = await admin.describe_topics(sorted(set(topics)))
        finally:
            await admin.close()
        return {d["topic"]: len(d["partitions"]) for d in described}

    return asyncio.run(run())


def partition_for(key: str, partitions: int) -> int:
    """The partition the services' producers (aiokafka's default partitioner) pick."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(key.encode(), every, every))


def produce(bootstrap: str, poisons: Sequence[Poison]) -> list[Sent]:
    """Publish each record to its partition; returns them with the offsets they got."""

    async def run() -> list[Sent]:
        largest = max(len(p.key or b"") + len(p.value or b"") for p in poisons)
        if largest + _BATCH_OVERHEAD > BROKER_MAX_BYTES:
            raise ValueError(f"a {largest}-byte record exceeds what the broker takes")
        producer = AIOKafkaProducer(
            **client_options(bootstrap), acks="all", enable_idempotence=True,
            max_request_size=BROKER_MAX_BYTES, request_timeout_ms=_KAFKA_TIMEOUT_MS,
        )  # fmt: skip
        await asyncio.wait_for(producer.start(), 30)
        try:
            futures = [await _send(producer, p) for p in poisons]
            metadata = await asyncio.wait_for(asyncio.gather(*futures), 120)
        finally:
            await producer.stop()
        return [Sent(p, m.offset) for p, m in zip(poisons, metadata, strict=True)]

    return asyncio.run(run())


async def _send(producer: AIOKafkaProducer, p: Poison) -> Any:
    """Queue one record; returns the future of its metadata."""
    return await producer.send(
        p.topic, p.value, key=p.key, headers=list(p.headers), partition=p.partition
    )


# ---- the services' inboxes ---------------------------------------------------------------
InboxKey = tuple[str, str, int, int]  # consumer, topic, partition, offset


def inbox_rows(admin_url: str, topics: Iterable[str]) -> dict[InboxKey, str]:
    """(consumer, topic, partition, offset) -> inbox status, across every service."""
    found: dict[InboxKey, str] = {}
    for schema in SERVICES:
        exists = query(admin_url, "SELECT to_regclass($1) IS NOT NULL AS t", f"{schema}.inbox")
        if not exists[0]["t"]:
            continue
        rows = query(
            admin_url,
            f'SELECT consumer, topic, partition, "offset", status FROM {schema}.inbox '  # noqa: S608
            f"WHERE topic = ANY($1::text[])",
            sorted(set(topics)),
        )
        for r in rows:
            found[(r["consumer"], r["topic"], r["partition"], r["offset"])] = r["status"]
    return found


# ---- valid traffic on every partition ------------------------------------------------------
def new_products(catalog_url: str, partitions: int, timeout: float = 20.0) -> list[str]:
    """One new product per partition of catalog.events (key: SKU), through catalog's API."""
    by_partition: dict[int, str] = {}
    while len(by_partition) < partitions:
        sku = f"POISON-OK-{uuid.uuid4().hex[:10].upper()}"
        by_partition.setdefault(partition_for(sku, partitions), sku)
    with httpx.Client(timeout=timeout) as client:
        for sku in by_partition.values():
            body = {"sku": sku, "name": f"Chaos {sku}", "price_minor": 1000, "currency": "EUR"}
            response = client.post(catalog_url + "/products", json=body)
            if response.status_code not in (200, 201):
                raise AssertionError(f"product {sku} not created: {response.text}")
    return sorted(by_partition.values())


def stocked_on_every_partition(inventory_url: str, partitions: int, timeout: float = 20.0) -> None:
    """A stock count of a new SKU per partition of inventory.stock (key: SKU): each
    announces a level, valid traffic for the level readers on every partition."""
    by_partition: dict[int, str] = {}
    while len(by_partition) < partitions:
        sku = f"POISON-STOCK-{uuid.uuid4().hex[:10].upper()}"
        by_partition.setdefault(partition_for(sku, partitions), sku)
    with httpx.Client(timeout=timeout) as client:
        for sku in by_partition.values():
            response = client.put(f"{inventory_url}/stock/{sku}", json={"available": 5})
            if response.status_code != 200:
                raise AssertionError(f"{sku} not stocked: {response.text}")


def counted_cart_rule(catalog_url: str, checkout_url: str, timeout: float = 30.0) -> None:
    """A cart rule whose uses are counted (1 % off, a huge limit), held by checkout: every
    order placed after it is redeemed first, valid traffic on promotions.commands and
    promotions.events on the orders' partitions."""
    rule = {"kind": "percent", "value": 100, "global_limit": 1_000_000}
    promotion_id = f"poison-counted-{uuid.uuid4().hex[:8]}"
    with httpx.Client(timeout=10.0) as client:
        saved = client.put(f"{catalog_url}/promotions/{promotion_id}", json=rule)
        if saved.status_code != 200:
            raise AssertionError(f"cart rule not saved: {saved.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = client.get(f"{checkout_url}/catalog/price-data").json()
            if any(d["kind"] == "promotion" and d["id"] == promotion_id for d in held):
                return
            time.sleep(0.3)
    raise AssertionError(f"checkout never got the cart rule {promotion_id}")


def known_to_checkout(checkout_url: str, skus: Iterable[str], timeout: float) -> bool:
    wanted = set(skus)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(checkout_url + "/catalog", timeout=5.0)
        if response.status_code == 200 and wanted <= {i["sku"] for i in response.json()}:
            return True
        time.sleep(0.3)
    return False


def submission(reference: str) -> bytes:
    """A valid SubmitOrder v2 for the upstream door (orders.inbound), keyed by reference."""
    sample = newest_example("SubmitOrder")
    payload = sample.model_dump(mode="json") | {"reference": reference}
    # Catalog prices may have moved since the golden example was written: no price check.
    payload["lines"] = [{"sku": "TEE-BLK-M", "quantity": 1}]
    # Nor the example's delivery method: a cluster of the fault suite has none.
    payload.pop("delivery", None)
    return _json(envelope(sample.TYPE, sample.VERSION, payload, reference))


def wait_statuses(
    orders_url: str, order_ids: Iterable[str], until: Callable[[str | None], bool], timeout: float
) -> dict[str, str | None]:
    """Each order's saga status once ``until`` holds for all (or at the timeout)."""
    statuses: dict[str, str | None] = dict.fromkeys(order_ids)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            for order_id, status in statuses.items():
                if not until(status):
                    response = client.get(f"{orders_url}/orders/{order_id}")
                    statuses[order_id] = (
                        response.json()["status"] if response.status_code == 200 else None
                    )
            if all(until(s) for s in statuses.values()):
                break
            time.sleep(0.3)
    return statuses
