"""Stock levels over HTTP: read for everyone, adjust for operators."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.adapters.repository import StockRepository
from inventory.application import handlers
from inventory.application.unit_of_work import unit_of_work
from inventory.domain.model import StockItem
from orderflow_contracts.common import Sku
from orderflow_messaging.clock import Clock
from orderflow_service.http import Text


class StockView(BaseModel):
    sku: str
    initial: int
    available: int
    reserved: int
    committed: int


class StockAdjustment(BaseModel):
    # strict: true and "5" are not quantities (lax mode took them as 1 and 5).
    model_config = ConfigDict(extra="forbid", strict=True)

    available: int = Field(ge=0, le=100_000_000)


def _view(item: StockItem) -> StockView:
    return StockView(
        sku=item.sku,
        initial=item.initial,
        available=item.available,
        reserved=item.reserved,
        committed=item.committed,
    )


def build_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/stock", tags=["stock"])

    @router.get("")
    async def list_stock() -> list[StockView]:
        async with engine.connect() as conn:
            return [_view(item) for item in await StockRepository(conn).all()]

    @router.get("/{sku}", responses={404: {"description": "unknown SKU"}})
    async def get_stock(sku: Text) -> StockView:
        async with engine.connect() as conn:
            item = await StockRepository(conn).get(sku)
        if item is None:
            raise HTTPException(404, f"unknown SKU {sku!r}")
        return _view(item)

    @router.put("/{sku}")
    async def set_available(sku: Sku, body: StockAdjustment) -> StockView:
        """Set the available quantity (a stock count); reserved and committed stay.
        The new level is announced on inventory.stock. Only a SKU as the contracts
        spell it can be stocked (422 otherwise): no order could name another."""
        async with unit_of_work(engine, clock) as uow:
            return _view(await handlers.set_available(uow, sku, body.available))

    return router
