"""One role per service, owning only its own schema; none is a superuser."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from orderflow_cli.stack import provision


def _url_for(admin_url: str, role: str, password: str) -> str:
    url = make_url(admin_url).set(drivername="postgresql", username=role, password=password)
    return url.render_as_string(hide_password=False)


async def test_service_roles_are_confined_to_their_schema(admin_database_url: str) -> None:
    passwords = provision.role_passwords()
    await provision.provision(admin_database_url, passwords)

    payment = await asyncpg.connect(
        _url_for(admin_database_url, "orderflow_payment", passwords["payment"])
    )
    inventory = await asyncpg.connect(
        _url_for(admin_database_url, "orderflow_inventory", passwords["inventory"])
    )
    try:
        await payment.execute("CREATE TABLE IF NOT EXISTS secrets_probe (id int)")
        assert await payment.fetchval("SELECT current_schema()") == "payment"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await inventory.fetch("SELECT * FROM payment.secrets_probe")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await inventory.execute("CREATE TABLE public.sneaky (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await inventory.execute("CREATE TABLE payment.sneaky (id int)")
        supers = await payment.fetchval(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'orderflow_%' AND rolsuper"
        )
        assert supers == 0
    finally:
        await payment.execute("DROP TABLE IF EXISTS secrets_probe")
        await payment.close()
        await inventory.close()
