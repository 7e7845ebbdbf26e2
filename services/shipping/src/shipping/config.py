"""Shipping settings: ``SHIPPING_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings
from shipping.domain.model import Timings


class ShippingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHIPPING_", extra="ignore")

    http_port: int = 8006
    # How long the simulated carrier takes to accept an address with a "99" postcode:
    # long enough that a saga sees no reply at first and has to wait (or time out).
    slow_delay_s: float = Field(default=10.0, ge=0)
    dispatch_after_s: float = Field(default=3.0, ge=0)
    deliver_after_s: float = Field(default=3.0, ge=0)
    advance_interval_s: float = Field(default=0.5, gt=0)
    # Shipments a timer tick claims at most (one transaction; a full tick runs again).
    tick_limit: int = Field(default=500, ge=1)

    def timings(self) -> Timings:
        return Timings(
            slow_delay=timedelta(seconds=self.slow_delay_s),
            dispatch_after=timedelta(seconds=self.dispatch_after_s),
            deliver_after=timedelta(seconds=self.deliver_after_s),
        )
