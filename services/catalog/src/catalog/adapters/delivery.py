"""Delivery methods in PostgreSQL (SQLAlchemy Core: the managers' path, like prices)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.tables import delivery_methods
from catalog.domain.delivery import StoredMethod
from orderflow_pricing import DeliveryMethod


def method_of(row: Any) -> StoredMethod:
    method = DeliveryMethod.from_json({**row["definition"], "method_id": row["method_id"]})
    return StoredMethod(method, row["active"], row["revision"])


class DeliveryStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, method_id: str, *, for_update: bool = False) -> StoredMethod | None:
        query = select(delivery_methods).where(delivery_methods.c.method_id == method_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return method_of(row._mapping) if row else None

    async def all(self, *, active_only: bool = False) -> list[StoredMethod]:
        query = select(delivery_methods).order_by(delivery_methods.c.method_id)
        if active_only:
            query = query.where(delivery_methods.c.active)
        return [method_of(row._mapping) for row in await self._conn.execute(query)]

    async def save(self, stored: StoredMethod) -> None:
        definition = stored.method.to_json()
        del definition["method_id"]  # its own column
        row = dict(
            method_id=stored.method_id, definition=definition,
            active=stored.active, revision=stored.revision,
        )  # fmt: skip
        stmt = insert(delivery_methods).values(**row)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["method_id"],
                set_={name: stmt.excluded[name] for name in row if name != "method_id"},
            )
        )
