"""Every metric the Grafana dashboard and the alert rules query is one the services
export (a renamed metric would leave a panel empty and an alert silent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import orderflow_messaging.metrics
import orders.metrics

ROOT = Path(__file__).resolve().parents[4]
NAME = re.compile(r"\b(orderflow_[a-z_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def exported() -> set[str]:
    assert orderflow_messaging.metrics.CONSUMER_LAG is not None  # imported: registered
    assert orders.metrics.SAGAS is not None
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def queried_by_dashboard() -> set[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "orderflow.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return {name for expr in exprs for name in NAME.findall(expr)}


def queried_by_alerts() -> set[str]:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return {name for expr in exprs for name in NAME.findall(expr)}


def test_the_dashboard_queries_only_exported_metrics() -> None:
    queried = queried_by_dashboard()
    assert len(queried) >= 10
    assert queried <= exported(), queried - exported()


def test_the_alerts_query_only_exported_metrics() -> None:
    queried = queried_by_alerts()
    assert {"orderflow_consumer_lag", "orderflow_dead_letters_total"} <= queried
    assert queried <= exported(), queried - exported()
