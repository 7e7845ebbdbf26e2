"""Invoices and credit notes on the real PostgreSQL: the document store's contract (the
fake behaves alike), numbers without gaps or duplicates under 200 concurrent captures in
transactions that sometimes roll back, and the HTTP routes (JSON, PDF, lists)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pypdfium2 as pdfium
import pytest

from orderflow_messaging.db import hot_pool
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema, SchemaDatabase
from payment.adapters.documents import MemoryDocumentStore, PgDocumentStore
from payment.application.ports import DocumentStore
from payment.bootstrap import MIGRATIONS
from payment.domain.invoices import Charge, Document, DocumentLine, credit_note_for, invoice_for
from payment.entrypoints.invoices_http import build_router

NOW = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
InTransaction = Callable[[Callable[[DocumentStore], Awaitable[object]]], Awaitable[object]]


def invoice(order_id: str, now: datetime = NOW, customer: str = "c-1") -> Document:
    charge = Charge(order_id, customer, "DE", "EUR", 2380, (DocumentLine("TEE", 2, 1190),))
    return invoice_for(charge, f"{order_id}:capture", now)


class Rollback(Exception):
    """Stands for a batch that fails after it took its numbers."""


@pytest.fixture
async def db(migrated_schema: MigratedSchema) -> SchemaDatabase:
    return await migrated_schema(MIGRATIONS)


@pytest.fixture(params=["memory", "postgres"])
async def in_transaction(
    request: pytest.FixtureRequest, db: SchemaDatabase
) -> AsyncIterator[InTransaction]:
    if request.param == "memory":
        fake = MemoryDocumentStore()

        async def on_fake(step: Callable[[DocumentStore], Awaitable[object]]) -> object:
            return await step(fake)

        yield on_fake
        return
    pool = await hot_pool(db.engine).pool()

    async def on_postgres(step: Callable[[DocumentStore], Awaitable[object]]) -> object:
        async with pool.acquire() as conn, conn.transaction():
            return await step(PgDocumentStore(conn))

    yield on_postgres


async def issue(in_transaction: InTransaction, *documents: Document) -> list[Document]:
    async def step(store: DocumentStore) -> object:
        return await store.issue(documents)

    issued = await in_transaction(step)
    assert isinstance(issued, list)
    return issued


async def test_numbers_run_per_series_and_year_and_invoices_load_back(
    in_transaction: InTransaction,
) -> None:
    first = await issue(in_transaction, invoice("o1"), invoice("o2"))
    assert [d.number for d in first] == ["INV-2026-000001", "INV-2026-000002"]
    next_year = NOW + timedelta(minutes=2)
    note = credit_note_for(first[0], 2380, "o1:refund", NOW)
    later = await issue(in_transaction, invoice("o3", next_year), note, invoice("o4"))
    assert [d.number for d in later] == ["INV-2027-000001", "CN-2026-000001", "INV-2026-000003"]
    assert later[1].corrects == "INV-2026-000001"

    async def load(store: DocumentStore) -> object:
        return await store.invoices_of(["o1", "o3", "none"])

    loaded = await in_transaction(load)
    assert loaded == {"o1": first[0], "o3": later[0]}


async def test_a_second_document_for_a_source_key_is_refused(
    in_transaction: InTransaction,
) -> None:
    await issue(in_transaction, invoice("o1"))
    with pytest.raises(Exception, match=r"exists|duplicate|unique"):
        await issue(in_transaction, invoice("o1"))


async def test_200_concurrent_captures_number_without_gaps_or_duplicates(
    db: SchemaDatabase,
) -> None:
    """200 captures in 200 concurrent transactions, a fifth of which roll back after
    taking their number (a failed batch, a crash): the committed ones hold 1..n."""
    pool = await hot_pool(db.engine).pool()
    rng = random.Random(7)
    failing = set(rng.sample(range(200), 40))

    async def capture(n: int) -> str | None:
        try:
            async with pool.acquire() as conn, conn.transaction():
                [numbered] = await PgDocumentStore(conn).issue([invoice(f"o{n}")])
                await asyncio.sleep(rng.random() / 100)
                if n in failing:
                    raise Rollback
                return numbered.number
        except Rollback:
            return None

    numbers = [n for n in await asyncio.gather(*(capture(n) for n in range(200))) if n]
    async with pool.acquire() as conn:
        stored = await conn.fetch("SELECT number, seq FROM documents ORDER BY seq")
    assert len(numbers) == len(stored) == 160
    assert sorted(numbers) == [r["number"] for r in stored]
    assert [r["seq"] for r in stored] == list(range(1, 161))  # no gap, no duplicate
    # The next capture continues right after the last committed number.
    async with pool.acquire() as conn, conn.transaction():
        [after] = await PgDocumentStore(conn).issue([invoice("late")])
    assert after.number == "INV-2026-000161"


async def test_the_routes_show_a_document_its_pdf_and_the_lists(db: SchemaDatabase) -> None:
    pool = await hot_pool(db.engine).pool()
    async with pool.acquire() as conn, conn.transaction():
        store = PgDocumentStore(conn)
        [inv] = await store.issue([invoice("o1", customer="c-9")])
        await store.issue([credit_note_for(inv, 500, "o1:refund:1", NOW)])
    app = create_app("payment", routers=[build_router(db.engine)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        body = (await http.get("/invoices/INV-2026-000001")).json()
        assert (body["kind"], body["order_id"], body["total_minor"]) == ("invoice", "o1", 2380)
        assert body["taxes"] == [
            {"rate_percent": 19.0, "gross_minor": 2380, "net_minor": 2000, "tax_minor": 380}
        ]
        pdf = await http.get(body["pdf"])
        assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
        page = pdfium.PdfDocument(pdf.content)[0]
        assert "INV-2026-000001" in page.get_textpage().get_text_range()
        listed = (await http.get("/customers/c-9/invoices")).json()
        # Newest first; issued at the same moment: by number, descending.
        assert [d["number"] for d in listed] == ["INV-2026-000001", "CN-2026-000001"]
        of_order = (await http.get("/orders/o1/invoices")).json()
        assert [d["kind"] for d in of_order] == ["invoice", "credit_note"]
        assert (await http.get("/invoices/INV-2026-999999")).status_code == 404
        assert (await http.get("/invoices/INV-2026-999999.pdf")).status_code == 404
        assert (await http.get("/customers/c-9/invoices?limit=0")).status_code == 422
