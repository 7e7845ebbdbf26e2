"""Inventory settings: ``INVENTORY_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    http_port: int = 8004
    # A reservation never committed or released is given back after this long. Far longer
    # than any saga deadline, so it only reclaims stock from orders that were abandoned.
    reservation_ttl_s: float = Field(default=1800.0, gt=0)
    expiry_interval_s: float = Field(default=5.0, gt=0)
    seed_sample_stock: bool = True
