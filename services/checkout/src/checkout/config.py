"""Checkout settings: ``CHECKOUT_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class CheckoutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")

    http_port: int = 8002
    # Which OrderPlaced version to emit: 3 (current), or 2 or 1 while consumers migrate.
    order_placed_version: Literal[1, 2, 3, 4] = 4
    # The upstream door's consumer (orders.inbound) waits at least this long after a
    # poll that was not full (CONSUMER_LINGER_MS is the floor). Upstream traffic is a
    # steady trickle: with 5 ms the door ran ~46 transactions a second of ~3 submissions
    # at 200 orders/s; a little more wait on this one hop makes fewer, larger batches.
    inbound_linger_ms: int = Field(default=20, ge=0)
    # The copies' consumer (catalog.events, inventory.stock) waits at least this long
    # after a poll that was not full: no order waits for it, and a stock level arrives
    # after nearly every inventory batch, so lingering makes few, larger transactions
    # (without it the copies cost checkout ~3 ms of CPU per order at 25 orders/s).
    copy_linger_ms: int = Field(default=200, ge=0)
    # Admission control at the HTTP door (entrypoints/admission.py): POST /orders
    # answers 503 with Retry-After while more than these wait (placed orders not
    # published, published orders the coordinator has not started, requests in flight).
    admission_enabled: bool = True
    admission_max_outbox: int = Field(default=500, ge=0)
    admission_max_coordinator_lag: int = Field(default=500, ge=0)
    admission_max_in_flight: int = Field(default=256, ge=1)
    admission_retry_after_s: int = Field(default=1, ge=1)
    admission_sample_interval_s: float = Field(default=0.5, gt=0)
