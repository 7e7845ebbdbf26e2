"""Helpers of the CLI's unit tests."""

from __future__ import annotations

import importlib

from orderflow_service.runtime import ServiceDefinition
from orderflow_service.settings import ServiceSettings


def build_definition(service: str) -> ServiceDefinition:
    """What a service's composition root builds; connects to nothing (engines and pools
    open on first use)."""
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    config = importlib.import_module(f"{service}.config")
    [settings_type] = [
        value for name, value in vars(config).items()
        if name.endswith("Settings") and isinstance(value, type)
        and issubclass(value, ServiceSettings) and value is not ServiceSettings
    ]  # fmt: skip
    definition: ServiceDefinition = bootstrap.build(
        settings_type(database_url="postgresql://u:p@127.0.0.1:1/x")
    )
    return definition
