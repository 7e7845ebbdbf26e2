"""The shared HTTP edge rules of create_app (found by tests/e2e/test_http_fuzz.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from orderflow_service.http import Text, create_app, encodable


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/notes/{key}")
    async def read(key: Text) -> dict[str, str]:
        return {"key": key}

    @router.put("/notes/{key}")
    async def write(key: Text, body: Note) -> dict[str, str]:
        return {"key": key, "text": body.text}

    return router


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app("test", routers=[_router()])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_nul_in_a_path_parameter_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/notes/a%00b")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "key"]


async def test_nul_and_lone_surrogates_in_a_body_are_422s(client: httpx.AsyncClient) -> None:
    for text in ('"a\\u0000b"', '"a\\ud800b"'):
        response = await client.put(
            "/notes/k", content=f'{{"text": {text}}}', headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "text"]


async def test_a_422_echoing_a_lone_surrogate_is_still_rendered(client: httpx.AsyncClient) -> None:
    # The unknown field's name is echoed in the error: it cannot be encoded to UTF-8 as is.
    body = '{"text": "ok", "\\ud800": 1}'
    response = await client.put(
        "/notes/k", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "?" in json.dumps(response.json())


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.delete("/notes/k")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT"
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_openapi_documents_every_answer(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/notes/{key}"]["put"]["responses"]) == {"200", "400", "422"}
    assert "400" not in spec["paths"]["/notes/{key}"]["get"]["responses"]
    assert set(spec["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert list(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]


async def test_an_undecodable_body_is_the_documented_400(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/notes/k", content=b'{"text": "\xff"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"]


def test_encodable_replaces_lone_surrogates_everywhere() -> None:
    assert encodable({"a\ud800": ["b\udfff", 1, None]}) == {"a?": ["b?", 1, None]}
