"""Orders settings: ``ORDERS_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings
from orders.returns.policy import ReturnPolicy
from orders.saga.policy import SagaPolicy


class OrdersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    http_port: int = 8003
    # Generous: under a burst a healthy participant may queue for seconds, and every
    # timeout resends work to it.
    step_timeout_s: float = Field(default=10.0, gt=0)
    step_retries: int = Field(default=1, ge=0)
    compensation_retries: int = Field(default=5, ge=0)
    sweep_interval_s: float = Field(default=0.25, gt=0)
    # Live sagas the coordinator keeps between batches (adapters/saga_cache.py): a batch
    # of kept and new sagas skips its load. Each entry is checked by the batch's write,
    # so a stale one costs a retry, never a wrong decision. ~2 KB each; 0 turns it off.
    saga_cache_size: int = Field(default=20_000, ge=0)
    # How often sagas per status and past their deadline are counted for /metrics.
    gauges_interval_s: float = Field(default=15.0, gt=0)
    # Deadlines count only time in which the participant could have answered
    # (application/deadline_holds.py): a participant is held while more than
    # ``hold_max_lag`` records wait for it or for us (its command topic, its reply
    # topic, our outbox) and none of those queues stood still for ``hold_stall_s``.
    # Sampled every ``hold_sample_interval_s``; ``deadline_holds=false``: wall clock.
    deadline_holds: bool = True
    hold_max_lag: int = Field(default=200, ge=0)
    hold_stall_s: float = Field(default=5.0, gt=0)
    hold_sample_interval_s: float = Field(default=1.0, gt=0)
    # Bearer token of the /admin saga console; empty turns its actions off (503). Kept
    # out of repr so it never lands in a log line.
    admin_token: str = Field(default="", repr=False)
    # Returns (docs/returns.md): the window from delivery, how long a parcel may take
    # once its label is issued, and SKU prefixes that cannot be returned (comma list).
    return_window_days: int = Field(default=30, ge=0)
    return_receive_days: int = Field(default=14, ge=1)
    non_returnable_skus: str = "SOCKS-"
    return_sweep_interval_s: float = Field(default=1.0, gt=0)

    def policy(self) -> SagaPolicy:
        return SagaPolicy(
            step_timeout=timedelta(seconds=self.step_timeout_s),
            step_retries=self.step_retries,
            compensation_retries=self.compensation_retries,
        )

    def return_policy(self) -> ReturnPolicy:
        prefixes = tuple(p.strip() for p in self.non_returnable_skus.split(",") if p.strip())
        return ReturnPolicy(
            window=timedelta(days=self.return_window_days),
            receive_within=timedelta(days=self.return_receive_days),
            non_returnable=prefixes,
            step_timeout=timedelta(seconds=self.step_timeout_s),
            step_retries=self.compensation_retries,
        )
