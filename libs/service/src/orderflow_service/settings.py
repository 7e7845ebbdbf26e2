"""Settings every service has. A service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderflow_messaging.housekeeping import RetentionSettings
from orderflow_messaging.settings import ConsumerSettings, KafkaSettings
from orderflow_service.tracing import TracingSettings


class ServiceSettings(BaseSettings):
    """``<SERVICE>_DATABASE_URL``, ``<SERVICE>_HTTP_PORT`` ...; Kafka from ``KAFKA_*``."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str
    # Only for tests and tools that use an admin URL: the schema to work in.
    db_schema: str | None = None
    db_pool_size: int = Field(default=5, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)
    topic_partitions: int = Field(default=4, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
