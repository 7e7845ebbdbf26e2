"""Invoices and credit notes in PostgreSQL (asyncpg, in the batch's transaction), and
an in-memory fake that passes the same contract tests.

Numbers are handed out by one upsert on ``document_counters`` per call, one row per
(series, year), taken in (series, year) order so two batches never deadlock on them.
The row stays locked until the batch commits: batches that issue documents of the same
series and year take turns there, which is what keeps the numbers free of gaps (a batch
that rolls back gives its block back before the next one takes one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orderflow_messaging.db import Connection
from orderflow_messaging.jsontext import json_text
from payment.domain.invoices import Document, DocumentKind, DocumentLine, TaxLine

_ALLOCATE = """
    INSERT INTO document_counters (series, year, last)
    SELECT u.s, u.y, u.n FROM unnest($1::text[], $2::int[], $3::int[]) AS u(s, y, n)
    ORDER BY u.s, u.y
    ON CONFLICT (series, year) DO UPDATE SET last = document_counters.last + EXCLUDED.last
    RETURNING series, year, last
"""
_INSERT = """
    INSERT INTO documents (number, kind, series, year, seq, order_id, customer_id, country,
                           currency, issued_at, lines, taxes, total_minor, source_key,
                           corrects)
    SELECT u.nb, u.k, u.s, u.y, u.q, u.o, u.c, u.co, u.cu, u.at, u.l::jsonb, u.t::jsonb,
           u.tot, u.src, u.cor
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[],
                $12::text[], $13::bigint[], $14::text[], $15::text[])
         AS u(nb, k, s, y, q, o, c, co, cu, at, l, t, tot, src, cor)
"""
_INVOICES = """
    SELECT number, kind, order_id, customer_id, country, currency, issued_at, lines, taxes,
           source_key, corrects
    FROM documents WHERE kind = 'invoice' AND order_id = ANY($1::text[])
"""


def lines_data(document: Document) -> list[dict[str, Any]]:
    return [
        {"sku": line.sku, "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
         "discount_minor": line.discount_minor}
        for line in document.lines
    ]  # fmt: skip


def taxes_data(document: Document) -> list[dict[str, int]]:
    return [
        {"rate_bp": t.rate_bp, "gross_minor": t.gross_minor, "net_minor": t.net_minor,
         "tax_minor": t.tax_minor}
        for t in document.taxes
    ]  # fmt: skip


def document_of(row: Any) -> Document:
    """A document from a ``documents`` row (asyncpg record or SQLAlchemy mapping)."""
    return Document(
        kind=DocumentKind(row["kind"]),
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        country=row["country"],
        currency=row["currency"],
        issued_at=row["issued_at"],
        lines=tuple(
            DocumentLine(d["sku"], d["quantity"], d["unit_price_minor"], d["discount_minor"])
            for d in row["lines"]
        ),
        taxes=tuple(
            TaxLine(t["rate_bp"], t["gross_minor"], t["net_minor"], t["tax_minor"])
            for t in row["taxes"]
        ),
        source_key=row["source_key"],
        number=row["number"],
        corrects=row["corrects"],
    )


def _blocks(documents: Sequence[Document]) -> Counter[tuple[str, int]]:
    return Counter((d.kind.series, d.issued_at.year) for d in documents)


def _number(documents: Sequence[Document], last: dict[tuple[str, int], int]) -> list[Document]:
    """Number in the order given: each (series, year) block ends at ``last``."""
    blocks = _blocks(documents)
    next_seq = {key: last[key] - count + 1 for key, count in blocks.items()}
    numbered = []
    for document in documents:
        key = (document.kind.series, document.issued_at.year)
        numbered.append(document.numbered(key[1], next_seq[key]))
        next_seq[key] += 1
    return numbered


class PgDocumentStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def invoices_of(self, order_ids: Sequence[str]) -> dict[str, Document]:
        rows = await self._conn.fetch(_INVOICES, list(order_ids))
        return {row["order_id"]: document_of(row) for row in rows}

    async def issue(self, documents: Sequence[Document]) -> list[Document]:
        if not documents:
            return []
        blocks = sorted(_blocks(documents).items())
        rows = await self._conn.fetch(
            _ALLOCATE, [s for (s, _), _ in blocks], [y for (_, y), _ in blocks],
            [n for _, n in blocks],
        )  # fmt: skip
        numbered = _number(documents, {(r["series"], r["year"]): r["last"] for r in rows})
        await self._conn.execute(_INSERT, *_columns(numbered))
        return numbered


def _columns(documents: Sequence[Document]) -> list[list[Any]]:
    seqs = [int(str(d.number).rsplit("-", 1)[1]) for d in documents]
    return [
        [d.number for d in documents],
        [d.kind.value for d in documents],
        [d.kind.series for d in documents],
        [d.issued_at.year for d in documents],
        seqs,
        [d.order_id for d in documents],
        [d.customer_id for d in documents],
        [d.country for d in documents],
        [d.currency for d in documents],
        [d.issued_at for d in documents],
        [json_text(lines_data(d)) for d in documents],
        [json_text(taxes_data(d)) for d in documents],
        [d.total_minor for d in documents],
        [d.source_key for d in documents],
        [d.corrects for d in documents],
    ]


@dataclass
class MemoryDocumentStore:
    """The fake: the same contract, in a dict by number."""

    documents: dict[str, Document] = field(default_factory=dict)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)

    async def invoices_of(self, order_ids: Sequence[str]) -> dict[str, Document]:
        wanted = set(order_ids)
        return {
            d.order_id: d
            for d in self.documents.values()
            if d.kind is DocumentKind.INVOICE and d.order_id in wanted
        }

    async def issue(self, documents: Sequence[Document]) -> list[Document]:
        sources = {d.source_key for d in self.documents.values()}
        invoiced = {d.order_id for d in self.documents.values() if d.kind is DocumentKind.INVOICE}
        if any(d.source_key in sources for d in documents) or any(
            d.kind is DocumentKind.INVOICE and d.order_id in invoiced for d in documents
        ):
            raise ValueError("a document for this source key, or an invoice of the order, exists")
        for key, count in _blocks(documents).items():
            self.counters[key] = self.counters.get(key, 0) + count
        numbered = _number(documents, self.counters)
        for document in numbered:
            assert document.number is not None
            self.documents[document.number] = document
        return numbered
