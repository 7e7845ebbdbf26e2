"""The deploy check's own logic: Compose's interpolation and a CRD schema made strict."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from orderflow_cli.deploy_check import crd_schema, interpolate, login_problems


def test_interpolation_takes_the_environment_then_the_default_and_casts_replicas() -> None:
    document = {"services": {"payment": {
        "deploy": {"replicas": "${PAYMENT_REPLICAS:-1}"},
        "environment": {"URL": "postgresql://u:${PW:-dev}@db/x", "EMPTY": "${UNSET}"},
    }}}  # fmt: skip
    found = interpolate(document, {"PAYMENT_REPLICAS": "3"})["services"]["payment"]
    assert found["deploy"]["replicas"] == 3
    assert found["environment"] == {"URL": "postgresql://u:dev@db/x", "EMPTY": ""}


CRD: dict[str, Any] = {
    "spec": {"versions": [{"name": "v1alpha1", "schema": {"openAPIV3Schema": {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                     "properties": {"a": {"type": "string"}}},
        },
    }}}]},
}  # fmt: skip


def test_a_crd_schema_refuses_unknown_fields_unless_it_keeps_them() -> None:
    schema = crd_schema(CRD, "v1alpha1")
    jsonschema.validate({"spec": {"size": 2}, "free": {"a": "x", "b": 1}}, schema)
    with pytest.raises(jsonschema.ValidationError, match="sise"):
        jsonschema.validate({"spec": {"sise": 2}}, schema)


def deployment(password: dict[str, Any]) -> dict[str, Any]:
    env = [
        {"name": "KAFKA_SASL_USERNAME", "value": "payment"},
        {"name": "KAFKA_SASL_PASSWORD", **password},
    ]
    return {"spec": {"template": {"spec": {"containers": [{"env": env}]}}}}


def scaled(auth: str | None) -> dict[str, Any]:
    trigger: dict[str, Any] = {"name": "payment-lag", "metadata": {"consumerGroup": "payment"}}
    if auth:
        trigger["authenticationRef"] = {"name": auth}
    return {"spec": {"triggers": [trigger]}}


def test_with_kafka_logins_a_password_in_plain_sight_or_a_trigger_without_login_is_a_problem() -> (
    None
):
    secret = {
        "valueFrom": {"secretKeyRef": {"name": "orderflow-kafka", "key": "payment-kafka-password"}}
    }
    auths = {"orderflow-payment-kafka": {}}
    assert login_problems("p", deployment(secret), scaled("orderflow-payment-kafka"), auths) == []
    assert login_problems("p", deployment(secret), None, auths) == []  # fixed replicas
    [plain] = login_problems("p", deployment({"value": "hunter2"}), None, auths)
    assert "not read from a Secret" in plain
    [anonymous] = login_problems("p", deployment(secret), scaled(None), auths)
    assert "payment-lag has no Kafka login" in anonymous
    [dangling] = login_problems("p", deployment(secret), scaled("gone"), auths)
    assert "no Kafka login" in dangling
