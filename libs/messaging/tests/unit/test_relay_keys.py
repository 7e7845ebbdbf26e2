"""Slot lock keys: advisory locks are database-wide, so each schema needs its own."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from orderflow_messaging.relay import Partitions, slot_lock_keys
from orderflow_messaging.tables import OUTBOX_SLOTS


def test_every_slot_of_every_service_has_its_own_key() -> None:
    schemas = ["catalog", "checkout", "inventory", "orders", "payment", "shipping", "history"]
    keys = [key for schema in schemas for key in slot_lock_keys(schema)]
    assert len(keys) == len(set(keys)) == len(schemas) * OUTBOX_SLOTS
    assert all(-(2**63) <= key < 2**63 for key in keys)  # a PostgreSQL bigint


def test_keys_do_not_depend_on_the_process() -> None:
    # Relays in different processes (and Python versions) must agree: a fixed hash
    # (blake2b), never ``hash()``, which is salted per process.
    assert slot_lock_keys("orders")[:2] == [5194890659628667118, -582814778225895618]


def test_the_relay_partitions_keys_as_the_producer_does() -> None:
    # The relay builds its own record batches, so it picks partitions itself: a key
    # must land where ``producer.send`` (Kafka's default partitioner) puts it, or an
    # order's messages from two producers of a topic would be split across partitions.
    partitions = Partitions(max_keys=50)
    for count in (1, 3, 4, 12):
        topic_partitions = list(range(count))
        for n in range(200):  # past max_keys: the memory is dropped and rebuilt
            key = f"order-{n}".encode()
            expected = DefaultPartitioner()(key, topic_partitions, topic_partitions)
            assert partitions.of(topic_partitions, key) == expected
            assert partitions.of(topic_partitions, key) == expected  # remembered
    assert partitions.of([0, 1, 2], None) in (0, 1, 2)
