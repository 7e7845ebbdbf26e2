"""Checkout settings: ``CHECKOUT_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class CheckoutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")

    http_port: int = 8002
    # Which OrderPlaced version to emit: 2 (current) or 1, while consumers migrate.
    order_placed_version: Literal[1, 2] = 2
