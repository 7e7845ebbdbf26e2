"""Checkout settings: ``CHECKOUT_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class CheckoutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")

    http_port: int = 8002
