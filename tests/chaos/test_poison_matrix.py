"""Poison matrix: every kind of bad record on every partition of every topic a service
consumes (the topic catalogue), then valid traffic on every one of those partitions.

Pass: each bad record is in its topic's DLQ, once per consumer, with its reason code,
its source coordinates, its key, value and header bytes; or, where the consumer may
handle it (chaos_poison.UNKNOWN_SUBJECT, the upstream door), it is in that consumer's
inbox as handled and in no DLQ. Valid orders placed after the poison complete within
seconds, every consumer handles a valid record after the last poison on every
partition, and `orderflow verify` (DLQ accounting and topic hygiene included) is ok.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from orderflow_cli.verify import consumer_groups
from orderflow_contracts import topics as t
from orderflow_messaging import dead_letter as dl
from orderflow_messaging.envelope import header_value
from orderflow_messaging.settings import ConsumerSettings
from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import read_topics
from orderflow_testing.chaos_load import Load
from orderflow_testing.chaos_poison import (
    DEAD_LETTERED,
    KINDS,
    ONCE_PER_TOPIC,
    PROCESSED,
    UNKNOWN_SUBJECT,
    Poison,
    Sent,
    TopicCase,
    counted_cart_rule,
    inbox_rows,
    known_to_checkout,
    new_products,
    partition_counts,
    partition_for,
    poison_matrix,
    produce,
    stocked_on_every_partition,
    submission,
    topic_cases,
    wait_statuses,
)

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.chaos_fast, pytest.mark.timeout(420)]

HAPPY = ((1, "tok_ok", "10115"),)
# Placed after the poison, a valid order must still finish this fast.
COMPLETION_S = 30.0


def _cases() -> list[TopicCase]:
    cases = topic_cases(consumer_groups())
    assert {c.topic for c in cases} == set(UNKNOWN_SUBJECT), "UNKNOWN_SUBJECT misses a topic"
    for case in cases:
        spec = UNKNOWN_SUBJECT[case.topic]
        assert spec is None or set(spec[1]) == set(case.consumers), case.topic
    return cases


def _orders_on_every_partition(cluster: Cluster, partitions: int) -> list[str]:
    """Happy orders through checkout's HTTP API until their ids (the key of every order
    topic) cover every partition."""
    placed: list[str] = []
    while {partition_for(o, partitions) for o in placed} != set(range(partitions)):
        assert len(placed) < 64, "order ids never covered every partition"
        placed += Load(cluster.url("checkout"), 8, rate=20.0, mix=HAPPY).run()
    return placed


def _submissions_on_every_partition(cluster: Cluster, partitions: int) -> list[str]:
    """A valid upstream submission on each partition of orders.inbound."""
    refs = [f"chaos-poison-ok-{p}-{uuid.uuid4().hex[:8]}" for p in range(partitions)]
    produce(
        cluster.bootstrap,
        [
            Poison("valid", t.ORDERS_INBOUND, p, ref.encode(), submission(ref), (), {})
            for p, ref in enumerate(refs)
        ],
    )
    return refs


def _accepted(cluster: Cluster, refs: Sequence[str], timeout: float = 30.0) -> dict[str, str]:
    """reference -> the door's answer type, for the ones answered within ``timeout``."""
    deadline = time.monotonic() + timeout
    answers: dict[str, str] = {}
    while len(answers) < len(refs) and time.monotonic() < deadline:
        for record in read_topics(cluster.bootstrap, [t.ORDERS_INBOUND_REPLIES]):
            ref = (record.key or b"").decode()
            if ref in refs:
                answers[ref] = (header_value(record.headers, "type") or b"").decode()
        time.sleep(0.5)
    return answers


@dataclass(frozen=True)
class Letter:
    """A dead letter, its value as a digest (some are 2 MiB)."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def _digest(value: bytes | None) -> bytes | None:
    return None if value is None else hashlib.sha256(value).digest()


def _letter(record: Any) -> Letter:
    return Letter(record.key, _digest(record.value), list(record.headers))


def _dead_letters(cluster: Cluster, topics: Iterable[str]) -> dict[tuple[Any, ...], list[Letter]]:
    """(consumer, source topic, partition, offset) -> the dead letters of that record."""
    found: dict[tuple[Any, ...], list[Letter]] = {}
    dlqs = [dl.dlq_topic(x) for x in topics]
    for record in read_topics(cluster.bootstrap, dlqs, keep=_letter):
        h = {
            n: (header_value(record.headers, n) or b"").decode()
            for n in (dl.H_CONSUMER, dl.H_SOURCE_TOPIC, dl.H_SOURCE_PARTITION, dl.H_SOURCE_OFFSET)
        }
        source = (
            h[dl.H_SOURCE_TOPIC],
            int(h[dl.H_SOURCE_PARTITION] or -1),
            int(h[dl.H_SOURCE_OFFSET] or -1),
        )
        found.setdefault((h[dl.H_CONSUMER], *source), []).append(record)
    return found


def _problems_of(
    sent: Sent,
    dead: dict[tuple[Any, ...], list[Letter]],
    inbox: dict[tuple[str, str, int, int], str],
) -> list[str]:
    """What is wrong with where one poison record ended up, per consumer."""
    problems = []
    for consumer, outcome in sent.poison.expect.items():
        letters = dead.get((consumer, *sent.coordinates), [])
        status = inbox.get((consumer, *sent.coordinates))
        if status != outcome.status:
            problems.append(f"{sent}: {consumer}'s inbox says {status}, expected {outcome.status}")
        if outcome.status != DEAD_LETTERED:
            problems += (
                [f"{sent}: dead-lettered by {consumer}, expected handled"] if letters else []
            )
            continue
        if len(letters) != 1:
            problems.append(f"{sent}: {len(letters)} dead letters from {consumer}, expected 1")
            continue
        problems += [
            f"{sent} ({consumer}): {p}"
            for p in _letter_problems(sent.poison, letters[0], outcome.reason)
        ]
    return problems


def _letter_problems(poison: Poison, letter: Letter, reason: str | None) -> list[str]:
    problems = []
    got = (header_value(letter.headers, dl.H_REASON) or b"").decode()
    if got != reason:
        problems.append(f"reason {got}, expected {reason}")
    if not header_value(letter.headers, dl.H_ERROR):
        problems.append("no dlq.error")
    if (letter.key, letter.value) != (poison.key, _digest(poison.value)):
        problems.append("key or value differ from the original record")
    for name, raw in poison.headers:
        if header_value(letter.headers, name) != raw:
            problems.append(f"header {name} not kept byte for byte")
    return problems


def _stalled(sent: Sequence[Sent], inbox: dict[tuple[str, str, int, int], str]) -> list[str]:
    """(consumer, topic, partition) with no record handled after its last poison record."""
    last: dict[tuple[str, str, int], int] = {}
    for s in sent:
        for consumer in s.poison.expect:
            key = (consumer, s.poison.topic, s.poison.partition)
            last[key] = max(last.get(key, -1), s.offset)
    moved: dict[tuple[str, str, int], int] = {}
    for (consumer, topic, partition, offset), status in inbox.items():
        if status != DEAD_LETTERED:
            key = (consumer, topic, partition)
            moved[key] = max(moved.get(key, -1), offset)
    return [
        f"{c} handled nothing on {tp}/{p} after the poison"
        for (c, tp, p), offset in sorted(last.items())
        if moved.get((c, tp, p), -1) <= offset
    ]


def test_every_poison_lands_in_its_dlq_and_every_partition_keeps_moving(cluster: Cluster) -> None:
    cases = _cases()
    topics = [c.topic for c in cases]
    counts = partition_counts(cluster.bootstrap, topics)
    matrix = poison_matrix(cases, counts)
    sent = produce(cluster.bootstrap, matrix)
    assert len(sent) == len(matrix)

    # Valid traffic on every partition of every consumed topic, after the poison (the
    # orders redeem a counted cart rule first: the promotions topics' traffic).
    started = time.monotonic()
    counted_cart_rule(cluster.url("catalog"), cluster.url("checkout"))
    placed = _orders_on_every_partition(cluster, counts[t.CHECKOUT_EVENTS])
    skus = new_products(cluster.url("catalog"), counts[t.CATALOG_EVENTS])
    refs = _submissions_on_every_partition(cluster, counts[t.ORDERS_INBOUND])
    stocked_on_every_partition(cluster.url("inventory"), counts[t.INVENTORY_STOCK])
    statuses = wait_statuses(
        cluster.url("orders"), placed, lambda s: s == "COMPLETED", COMPLETION_S
    )
    stuck = {o: s for o, s in statuses.items() if s != "COMPLETED"}
    assert not stuck, f"valid orders not completed {COMPLETION_S:.0f} s after the poison: {stuck}"
    assert known_to_checkout(cluster.url("checkout"), skus, 20.0), "catalog.events stalled"
    answers = _accepted(cluster, refs)
    assert answers == dict.fromkeys(refs, "OrderSubmissionAccepted"), answers
    flowed_s = time.monotonic() - started

    report = cluster.settle(timeout=120)
    assert_verified(report)
    settled_s = time.monotonic() - started - flowed_s
    inbox = inbox_rows(cluster.admin_url, topics)
    dead = _dead_letters(cluster, topics)
    problems = [p for s in sent for p in _problems_of(s, dead, inbox)] + _stalled(sent, inbox)
    assert not problems, f"{len(problems)} problems, e.g.: " + "\n".join(problems[:40])
    kinds = {s.poison.kind for s in sent}
    print(
        f"\n{len(sent)} poison records ({len(kinds)} kinds) on {len(topics)} topics; "
        f"{len(placed)} valid orders completed; valid traffic done in {flowed_s:.1f} s, "
        f"verify ok {settled_s:.1f} s later"
    )


def test_the_matrix_has_every_kind_that_applies_on_every_consumed_partition() -> None:
    """No cluster needed: the matrix itself."""
    cases = _cases()
    matrix = poison_matrix(cases, dict.fromkeys((c.topic for c in cases), 2))
    optional = {"negative_amount", "unknown_subject", "unknown_subject_non_utf8_header"}
    optional |= ONCE_PER_TOPIC
    for case in cases:
        for partition in (0, 1):
            kinds = {p.kind for p in matrix if (p.topic, p.partition) == (case.topic, partition)}
            assert set(KINDS) - optional <= kinds, (case.topic, partition)
    keys = [p.key for p in matrix if p.key is not None]
    assert len(set(keys)) == len(keys), "two records share a key"
    limit = ConsumerSettings().max_message_bytes
    assert all(len(p.value or b"") > limit for p in matrix if p.kind == "oversized")
    at_limit = {(p.topic, p.partition) for p in matrix if p.kind in ONCE_PER_TOPIC}
    assert at_limit == {(c.topic, 0) for c in cases}
    door = [p for p in matrix if p.topic == t.ORDERS_INBOUND and p.kind == "payload_wrong_types"]
    assert door
    assert all(o.status == PROCESSED for p in door for o in p.expect.values())
    negative = [p for p in matrix if p.kind == "negative_amount"]
    assert all(b":-1" in (p.value or b"").replace(b" ", b"") for p in negative)
