"""Connection settings read from the environment (and .orderflow/stack.env when present)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """``KAFKA_*`` variables. Timeouts bound every wait so nothing hangs while Kafka is down."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "orderflow"
    # Who this client is (docs/operations.md#who-may-talk-to-whom): the local broker
    # (`orderflow up`) takes SASL/SCRAM logins only, one principal per service.
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-256"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    request_timeout_ms: int = Field(default=15_000, ge=1_000)
    # Upper bound on one relay publish round trip (send + broker ack of a batch).
    publish_timeout_s: float = Field(default=30.0, gt=0)
    # Upper bound on producer/consumer start and stop.
    lifecycle_timeout_s: float = Field(default=20.0, gt=0)
    # 0: the relay queues a whole pass of rows before the producer's sender runs, so
    # they are batched anyway; a linger only delayed every hop (commit-to-publish median
    # 7.7 ms with 5 ms, 2.6 ms with 0: bench/outbox_latency.py, docs/performance.md).
    linger_ms: int = Field(default=0, ge=0)
    max_batch_size: int = Field(default=262_144, ge=16_384)
    # After a relay pass that was not full, wait this long before the next one, so that
    # under load a pass carries the rows of several commits (one transaction, one round
    # of acks) instead of one; an idle relay still wakes at once on a commit.
    relay_linger_ms: int = Field(default=5, ge=0)
    # Under load the relay marks what it published at most this often (one UPDATE, one
    # commit for several passes), excluding the sent rows from its claims meanwhile; an
    # idle relay marks at once. A crash before the mark republishes up to this much (the
    # consumers' inboxes skip it). 0: mark after every pass.
    relay_mark_interval_ms: int = Field(default=100, ge=0)
    # Dead letters carry the original bytes plus the dlq.* headers: up to the largest
    # record a source topic takes (2 MiB on the local broker, deploy/kafka) plus
    # dead_letter.DLQ_HEADROOM_BYTES. A relay that cannot send one retries it forever and
    # publishes nothing else; DLQ topics take as much (orderflow_service.topics).
    max_request_size: int = Field(default=2_097_152 + 65_536, ge=1_048_576)

    @model_validator(mode="after")
    def _login_complete(self) -> Self:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self


class ConsumerSettings(BaseSettings):
    """``CONSUMER_*`` variables: retries, backoff and batching of every consumer."""

    model_config = SettingsConfigDict(env_prefix="CONSUMER_", extra="ignore")

    max_attempts: int = Field(default=5, ge=1)
    backoff_initial_s: float = Field(default=0.2, gt=0)
    backoff_max_s: float = Field(default=5.0, gt=0)
    # A poll is one transaction (orderflow_messaging.consumer): up to ``max_records``
    # records, waiting at most ``batch_timeout_ms`` for them. Larger polls spread a
    # transaction's fixed cost (a handful of statements and one commit) over more
    # messages. A poll returns as soon as records are there; the timeout only bounds an
    # idle consumer's wait (a longer one wakes it less often).
    max_records: int = Field(default=500, ge=1)
    batch_timeout_ms: int = Field(default=50, ge=1)
    # After a poll smaller than ``max_records``, wait this long before the next one:
    # records keep arriving in the fetch buffer meanwhile, so under load a transaction
    # carries more of them. At most this much is added to a hop when traffic is light.
    linger_ms: int = Field(default=5, ge=0)
    # Handled batches' offsets are committed together, at most this often (0: after
    # every batch). Longer means fewer offset commits (a broker request each) and more
    # records fetched again after a crash or a rebalance (the inbox skips them); see
    # offsets.py. 500 rather than 100: at 50 orders/s the commits were a fifth of the
    # broker's requests, and 500 took ~10% off Kafka's CPU per order at 50/s and ~20%
    # at 150/s (docs/performance.md, nineteenth session).
    commit_interval_ms: int = Field(default=500, ge=0)
    # A consumer whose handlers take a write plan tries each batch as two round trips
    # (load, then every write as one statement; write_plan.py) before a transaction
    # block. False: always the transaction block (e.g. when the conflict metric shows
    # most plans rolled back).
    optimistic: bool = True
    # A consumer built to pipeline its optimistic batches (the coordinator) decides its
    # next batch while the previous batch's statement runs (consumer.py). False: one
    # batch at a time.
    pipeline: bool = True
    # The broker answers a fetch once it has ``fetch_min_bytes`` for it or after
    # ``fetch_max_wait_ms``. With 1 byte, a trickle of records meant a fetch round trip
    # per record or two, and the broker's CPU went to answering them.
    fetch_min_bytes: int = Field(default=1, ge=1)
    fetch_max_wait_ms: int = Field(default=500, ge=1)
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    session_timeout_ms: int = Field(default=10_000, ge=6_000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=1_000)
    max_poll_interval_ms: int = Field(default=120_000, ge=10_000)

    def lingering(self, linger_ms: int) -> ConsumerSettings:
        """These settings for one consumer that waits at least ``linger_ms`` after a poll
        that was not full (``CONSUMER_LINGER_MS`` stays the floor)."""
        return self.model_copy(update={"linger_ms": max(self.linger_ms, linger_ms)})


def login_env(principal: str, password: str, mechanism: str = "SCRAM-SHA-256") -> dict[str, str]:
    """The ``KAFKA_*`` variables that make a process's clients log in as ``principal``."""
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": principal,
        "KAFKA_SASL_PASSWORD": password,
    }


def own_login(env: Mapping[str, str], principal: str) -> dict[str, str]:
    """``env`` for a process of ``principal`` (a service): it logs in to Kafka as itself
    with ``<PRINCIPAL>_KAFKA_PASSWORD``, not as whoever started it, and sees no other
    principal's password. Without that password (an external broker) the login, if
    any, is the caller's."""
    password = env.get(f"{principal.upper()}_KAFKA_PASSWORD")
    own = {k: v for k, v in env.items() if not k.endswith("_KAFKA_PASSWORD")}
    return own if password is None else own | login_env(principal, password)


def adopt_login(settings: Mapping[str, str]) -> None:
    """Export the login in ``settings`` (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``, as
    a stack.env holds it) into this process's environment, where ``KafkaSettings`` reads
    it; a login already in the environment wins."""
    if "KAFKA_SASL_USERNAME" in os.environ:
        return
    for key, value in settings.items():
        if key == "KAFKA_SECURITY_PROTOCOL" or key.startswith("KAFKA_SASL_"):
            os.environ[key] = value
