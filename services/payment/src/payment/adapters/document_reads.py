"""Reading invoices and credit notes (SQLAlchemy Core, for the HTTP routes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from payment.adapters.documents import document_of
from payment.adapters.tables import documents
from payment.domain.invoices import Document


class DocumentReads:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, number: str) -> Document | None:
        row = (
            await self._conn.execute(select(documents).where(documents.c.number == number))
        ).first()
        return document_of(row._mapping) if row else None

    async def of_customer(self, customer_id: str, limit: int) -> list[Document]:
        """Newest first."""
        query = (
            select(documents)
            .where(documents.c.customer_id == customer_id)
            .order_by(documents.c.issued_at.desc(), documents.c.number.desc())
            .limit(limit)
        )
        return [document_of(row._mapping) for row in await self._conn.execute(query)]

    async def of_order(self, order_id: str) -> list[Document]:
        """The invoice first, then its credit notes, in issue order."""
        query = (
            select(documents)
            .where(documents.c.order_id == order_id)
            .order_by(documents.c.kind.desc(), documents.c.issued_at, documents.c.number)
        )
        return [document_of(row._mapping) for row in await self._conn.execute(query)]
