"""Catalog settings: ``CATALOG_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    http_port: int = 8001
    seed_sample_catalog: bool = True
    # The availability consumer waits at least this long after a poll that was not full
    # (CONSUMER_LINGER_MS is the floor): no order waits for a shown stock level, so a
    # fraction of a second of staleness buys fewer, larger batches (as history's).
    linger_ms: int = Field(default=200, ge=0)
