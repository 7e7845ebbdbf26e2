"""History settings: ``HISTORY_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class HistorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HISTORY_", extra="ignore")

    http_port: int = 8007
    # The read model's consumer waits at least this long after a poll that was not full
    # (CONSUMER_LINGER_MS is the floor). No order waits for it, so it trades a fraction
    # of a second of staleness for fewer, larger batches: at 200 orders/s it ran ~43
    # transactions a second of ~23 records with the services' 5 ms.
    linger_ms: int = Field(default=200, ge=0)
