"""Catalog settings: ``CATALOG_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    http_port: int = 8001
    seed_sample_catalog: bool = True
