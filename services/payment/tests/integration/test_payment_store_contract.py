"""One contract, two stores: the in-memory fake and PostgreSQL must behave alike, so
that unit tests of the batch use case on the fake say something about production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from orderflow_messaging.db import hot_pool
from orderflow_testing.plugin import MigratedSchema
from payment.adapters.batch_store import MemoryPaymentStore, PgPaymentStore
from payment.adapters.idempotency import KeyedRequest, KeyState, StoredKey
from payment.application.book import PaymentBook
from payment.application.ports import PaymentStore
from payment.bootstrap import MIGRATIONS
from payment.domain.model import Call, Payment, PaymentStatus

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
# Runs a step against a store inside one transaction (PostgreSQL) or directly (fake).
InTransaction = Callable[[Callable[[PaymentStore], Awaitable[object]]], Awaitable[object]]
REPLY = {"order_id": "o2", "authorization_id": "auth_2", "amount_minor": 1000, "currency": "EUR"}


def request(key: str, order_id: str, operation: Call = Call.AUTHORIZE) -> KeyedRequest:
    return KeyedRequest(key, operation, order_id, f"fingerprint-of-{key}")


class Rollback(Exception):
    """Stands for a batch that fails after committing its pending keys."""


@pytest.fixture(params=["memory", "postgres"])
async def in_transaction(
    request: pytest.FixtureRequest, migrated_schema: MigratedSchema
) -> AsyncIterator[InTransaction]:
    if request.param == "memory":
        fake = MemoryPaymentStore()

        async def on_fake(step: Callable[[PaymentStore], Awaitable[object]]) -> object:
            return await step(fake)

        yield on_fake
        return
    db = await migrated_schema(MIGRATIONS)
    pending_pool = hot_pool(db.engine)
    pool = await pending_pool.pool()

    async def on_postgres(step: Callable[[PaymentStore], Awaitable[object]]) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgPaymentStore(conn, pending_pool))

    yield on_postgres


async def load(in_transaction: InTransaction, order_ids: list[str], keys: list[str]) -> PaymentBook:
    async def step(store: PaymentStore) -> object:
        return await store.load_for_update(order_ids, keys)

    book = await in_transaction(step)
    assert isinstance(book, PaymentBook)
    return book


async def seed(in_transaction: InTransaction) -> None:
    """o1: pending, two open authorizations (k-b older than k-a) and a pending capture
    key; o2: authorized, its authorization key done."""

    async def step(store: PaymentStore) -> None:
        book = await store.load_for_update(["o1", "o2"], [])
        assert (book.payments, book.keys) == ({}, {})
        book.payments["o1"] = Payment.pending("o1", 1000, "EUR", "tok_ok")
        book.payments["o2"] = replace(
            Payment.pending("o2", 1000, "EUR", "tok_ok"),
            status=PaymentStatus.AUTHORIZED,
            authorization_id="auth_2",
        )
        book.changed.update({"o1", "o2"})
        await store.commit_pending([request("k-b", "o1")])
        await store.commit_pending([request("k-a", "o1"), request("k-cap", "o1", Call.CAPTURE)])
        await store.commit_pending([request("k-c", "o2")])
        book.keys["k-c"] = StoredKey(
            request("k-c", "o2"), KeyState.DONE, "PaymentAuthorized", REPLY
        )
        book.done.add("k-c")
        await store.save(book, NOW)

    await in_transaction(step)


async def test_load_returns_payments_asked_keys_and_open_authorizations_oldest_first(
    in_transaction: InTransaction,
) -> None:
    await seed(in_transaction)
    book = await load(in_transaction, ["o1"], ["k-c", "k-unknown"])
    assert set(book.payments) == {"o1"}
    assert book.payments["o1"] == Payment.pending("o1", 1000, "EUR", "tok_ok")
    # k-c: asked for (of another order); k-b, k-a: o1's open authorizations; not k-cap.
    assert set(book.keys) == {"k-a", "k-b", "k-c"}
    assert book.open_authorization("o1") == request("k-b", "o1"), "the oldest, not the first key"
    assert book.keys["k-c"] == StoredKey(
        request("k-c", "o2"), KeyState.DONE, "PaymentAuthorized", REPLY
    )


async def test_pending_keys_stay_when_the_batch_fails_and_never_overwrite_a_key(
    in_transaction: InTransaction,
) -> None:
    await seed(in_transaction)

    async def fail(store: PaymentStore) -> None:
        await store.load_for_update(["o3"], ["k-new"])
        await store.commit_pending([request("k-new", "o3"), request("k-c", "o3")])
        raise Rollback

    with pytest.raises(Rollback):
        await in_transaction(fail)
    book = await load(in_transaction, ["o3"], ["k-new", "k-c"])
    assert book.keys["k-new"] == StoredKey(request("k-new", "o3"), KeyState.PENDING, None, None)
    assert book.keys["k-c"].request == request("k-c", "o2"), "the stored key is kept"
    assert book.keys["k-c"].state is KeyState.DONE
    assert book.payments == {}


async def test_save_writes_changed_payments_and_done_keys_only(
    in_transaction: InTransaction,
) -> None:
    await seed(in_transaction)

    async def authorize_o1(store: PaymentStore) -> None:
        book = await store.load_for_update(["o1"], ["k-b", "k-late"])
        book.payments["o1"] = replace(
            book.payments["o1"], status=PaymentStatus.AUTHORIZED, authorization_id="auth_1"
        )
        book.changed.add("o1")
        reply = {"order_id": "o1", "authorization_id": "auth_1"}
        for key in ("k-b", "k-late"):  # a pending key, and one never stored before
            book.keys[key] = StoredKey(
                request(key, "o1"), KeyState.DONE, "PaymentAuthorized", reply
            )
            book.done.add(key)
        await store.save(book, NOW)

    await in_transaction(authorize_o1)
    book = await load(in_transaction, ["o1", "o2"], ["k-b", "k-late", "k-cap"])
    assert book.payments["o1"].status is PaymentStatus.AUTHORIZED
    assert book.payments["o1"].authorization_id == "auth_1"
    assert book.payments["o2"].authorization_id == "auth_2", "untouched"
    states = {key: stored.state for key, stored in book.keys.items()}
    assert states == {
        "k-b": KeyState.DONE,
        "k-late": KeyState.DONE,
        "k-a": KeyState.PENDING,
        "k-cap": KeyState.PENDING,
    }
    assert book.keys["k-late"].reply_payload == {"order_id": "o1", "authorization_id": "auth_1"}
    assert book.open_authorization("o1") == request("k-a", "o1")
