"""The admin credential gate every mutating command passes first."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderflow_cli import admin


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the real .orderflow/admin.token of a running stack out of these tests."""
    monkeypatch.setenv("ORDERFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("ORDERFLOW_ADMIN_TOKEN_EXPECTED", raising=False)
    return tmp_path


@pytest.fixture
def expected(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORDERFLOW_ADMIN_TOKEN_EXPECTED", "the-right-token")
    return "the-right-token"


@pytest.mark.parametrize("token", [None, ""])
def test_refused_without_a_token(expected: str, token: str | None) -> None:
    with pytest.raises(admin.AdminError, match="needs the admin credential"):
        admin.require_admin(token)


@pytest.mark.parametrize("token", ["wrong", "the-right-token ", "the-right-toke"])
def test_refused_with_a_wrong_token(expected: str, token: str) -> None:
    with pytest.raises(admin.AdminError, match="rejected"):
        admin.require_admin(token)


def test_accepted_with_the_expected_token(expected: str) -> None:
    assert admin.require_admin(expected) == admin.actor()


def test_refused_when_no_credential_is_configured() -> None:
    with pytest.raises(admin.AdminError, match="no admin credential"):
        admin.require_admin("anything")


def test_stored_token_is_the_credential_unless_overridden(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    stored = admin.ensure_token()
    assert (isolated_home / "admin.token").stat().st_mode & 0o777 == 0o600
    assert admin.require_admin(stored)
    monkeypatch.setenv("ORDERFLOW_ADMIN_TOKEN_EXPECTED", "elsewhere")
    with pytest.raises(admin.AdminError, match="rejected"):
        admin.require_admin(stored)
