"""History settings: ``HISTORY_*`` variables (Kafka from ``KAFKA_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from orderflow_service.settings import ServiceSettings


class HistorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HISTORY_", extra="ignore")

    http_port: int = 8007
