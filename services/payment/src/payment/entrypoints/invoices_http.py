"""Invoices and credit notes over HTTP, read only: as JSON, as a PDF, a customer's list
and an order's."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_service.http import Text
from payment.adapters.document_reads import DocumentReads
from payment.adapters.invoice_pdf import render
from payment.domain.invoices import Document

MAX_LIST = 100
_NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "no such document"}}


class DocumentLineView(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int
    discount_minor: int
    total_minor: int


class TaxLineView(BaseModel):
    rate_percent: float
    gross_minor: int
    net_minor: int
    tax_minor: int


class DocumentView(BaseModel):
    """An invoice (``kind`` invoice) or a credit note (``corrects``: its invoice)."""

    number: str
    kind: str
    order_id: str
    customer_id: str
    country: str
    currency: str
    issued_at: datetime
    lines: list[DocumentLineView]
    taxes: list[TaxLineView]
    total_minor: int
    corrects: str | None
    pdf: str  # where its PDF is


def _view(document: Document) -> DocumentView:
    return DocumentView(
        number=str(document.number),
        kind=document.kind.value,
        order_id=document.order_id,
        customer_id=document.customer_id,
        country=document.country,
        currency=document.currency,
        issued_at=document.issued_at,
        lines=[
            DocumentLineView(
                sku=line.sku, quantity=line.quantity, unit_price_minor=line.unit_price_minor,
                discount_minor=line.discount_minor, total_minor=line.total_minor,
            )
            for line in document.lines
        ],
        taxes=[
            TaxLineView(
                rate_percent=tax.rate_bp / 100, gross_minor=tax.gross_minor,
                net_minor=tax.net_minor, tax_minor=tax.tax_minor,
            )
            for tax in document.taxes
        ],
        total_minor=document.total_minor,
        corrects=document.corrects,
        pdf=f"/invoices/{document.number}.pdf",
    )  # fmt: skip


async def _document(engine: AsyncEngine, number: str) -> Document:
    async with engine.connect() as conn:
        document = await DocumentReads(conn).get(number)
    if document is None:
        raise HTTPException(404, f"no invoice or credit note {number!r}")
    return document


def build_router(engine: AsyncEngine) -> APIRouter:
    router = APIRouter(tags=["invoices"])

    # Before /invoices/{number}: that one would take "X.pdf" as a number.
    @router.get(
        "/invoices/{number}.pdf", response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}, **_NOT_FOUND},
    )  # fmt: skip
    async def get_pdf(number: Text) -> Response:
        """The document as a PDF (rendered from the stored document, the same each time)."""
        document = await _document(engine, number)
        headers = {"Content-Disposition": f'inline; filename="{document.number}.pdf"'}
        return Response(render(document), media_type="application/pdf", headers=headers)

    @router.get("/invoices/{number}", responses=_NOT_FOUND)
    async def get_document(number: Text) -> DocumentView:
        """An invoice (INV-<year>-<n>) or a credit note (CN-<year>-<n>)."""
        return _view(await _document(engine, number))

    @router.get("/customers/{customer_id}/invoices")
    async def customer_documents(
        customer_id: Text, limit: int = Query(default=20, ge=1, le=MAX_LIST)
    ) -> list[DocumentView]:
        """A customer's invoices and credit notes, newest first."""
        async with engine.connect() as conn:
            found = await DocumentReads(conn).of_customer(customer_id, limit)
        return [_view(document) for document in found]

    @router.get("/orders/{order_id}/invoices")
    async def order_documents(order_id: Text) -> list[DocumentView]:
        """An order's invoice, then its credit notes (empty until it is captured)."""
        async with engine.connect() as conn:
            found = await DocumentReads(conn).of_order(order_id)
        return [_view(document) for document in found]

    return router
