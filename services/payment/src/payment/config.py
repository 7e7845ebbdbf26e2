"""Payment settings: ``PAYMENT_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", extra="ignore")

    http_port: int = 8005
    # How long the simulated gateway keeps a tok_slow authorization processing.
    slow_delay_s: float = Field(default=10.0, ge=0)
    # How many calls of one key the simulated gateway refuses for tok_flaky.
    flaky_failures: int = Field(default=2, ge=0)
    # How often unanswered authorizations are asked about again.
    pending_check_interval_s: float = Field(default=1.0, gt=0)
    # The gateway has connections of its own, like any external system would; a batch's
    # concurrent calls (below) wait for one, so too few serialise them.
    gateway_pool_size: int = Field(default=8, ge=1)
    # How many gateway calls of one consumer batch run at once.
    gateway_concurrency: int = Field(default=16, ge=1)
