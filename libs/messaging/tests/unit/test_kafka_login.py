"""A Kafka login is all or nothing, and every client (aiokafka's or faststream's) gets
the same one from KafkaSettings."""

from __future__ import annotations

import os

import pytest
from faststream.security import SASLScram256
from pydantic import ValidationError

from orderflow_messaging.kafka import broker_security, connection_options, producer_options
from orderflow_messaging.settings import KafkaSettings, adopt_login, login_env


def test_a_sasl_protocol_without_a_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_username="payment")


def test_plaintext_clients_carry_no_login() -> None:
    settings = KafkaSettings(bootstrap_servers="h:1")
    assert connection_options(settings) == {"bootstrap_servers": "h:1"}
    assert broker_security(settings) is None


def test_every_client_logs_in_with_the_same_scram_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in login_env("payment", "s3cret").items():
        monkeypatch.setenv(key, value)
    settings = KafkaSettings(bootstrap_servers="h:1")
    expected = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "payment",
        "sasl_plain_password": "s3cret",
    }
    assert connection_options(settings).items() >= expected.items()
    assert producer_options(settings).items() >= expected.items()
    security = broker_security(settings)
    assert isinstance(security, SASLScram256)
    assert (security.username, security.password, security.use_ssl) == ("payment", "s3cret", False)
    assert "s3cret" not in repr(settings)  # a logged settings object does not leak it


def test_adopting_a_stack_login_never_replaces_one_already_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "payment")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "mine")
    adopt_login({**login_env("operator", "theirs"), "DATABASE_URL": "x"})
    assert KafkaSettings().sasl_username == "payment"
    monkeypatch.delenv("KAFKA_SASL_USERNAME")
    monkeypatch.delenv("KAFKA_SASL_PASSWORD")
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    monkeypatch.delenv("KAFKA_SASL_MECHANISM", raising=False)
    adopt_login({**login_env("operator", "theirs"), "DATABASE_URL": "x"})
    try:
        settings = KafkaSettings()
        assert settings.sasl_username == "operator"
        assert settings.security_protocol == "SASL_PLAINTEXT"
    finally:  # adopt_login wrote os.environ itself: take it out again
        for key in login_env("operator", "theirs"):
            os.environ.pop(key, None)
