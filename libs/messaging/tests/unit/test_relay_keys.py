"""Slot lock keys: advisory locks are database-wide, so each schema needs its own."""

from __future__ import annotations

from orderflow_messaging.relay import slot_lock_keys
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
