"""Fixtures of checkout's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orderflow_testing.plugin import MigratedSchema

from .checkout_app import Checkout, open_checkout


@pytest.fixture
async def checkout(migrated_schema: MigratedSchema) -> AsyncIterator[Checkout]:
    async with open_checkout(migrated_schema) as app:
        yield app
