"""The HTTP surface every service has: /healthz, /readyz, /metrics, plus its own routes.

Shared edge rules (found by the HTTP fuzzing in tests/e2e/test_http_fuzz.py):
- ``Text``: a string parameter or body field that reaches PostgreSQL. PostgreSQL text
  cannot hold NUL (U+0000), and a lone surrogate cannot be encoded to UTF-8; both are
  refused with a 422 naming the field instead of failing in the database with a 500.
- A 422 (FastAPI's shape, which echoes the input) is rendered even when the input holds
  a lone surrogate (JSON ``"\\ud800"``), which UTF-8 cannot encode: it is replaced by "?".
- A 405 answers ``Allow`` with every method the path has (Starlette names only those of
  the first route matching the path).
- The OpenAPI documents every answer a route can give: 400 for a body that cannot be
  decoded, 503 from /readyz, text/plain from /metrics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None = ready, else the reason

NO_NUL = r"^[^\x00]*$"
"""Any text without NUL: what a PostgreSQL ``text`` column can store."""

Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
"""A string that is stored or looked up in PostgreSQL (an id, a SKU, a reason)."""

UNDECODABLE_BODY = "the body cannot be decoded (it is not UTF-8 JSON)"


def in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a ValueError (a 422) for one that has no UTC form."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the first UTC moment
        raise ValueError("outside the years 1 to 9999 in UTC") from None


def iso_moment(value: object) -> object:
    """ISO 8601 text as a datetime (a ValueError, a 422, for anything else: pydantic's
    lax mode would read "0.5" or 12 as a Unix time)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("a moment is an ISO 8601 date-time string")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date-time") from None


# JSON and query strings have no date type: a moment is ISO 8601 text with its offset
# (strict mode would refuse the string), kept in UTC, so it reads back as it was sent.
UtcMoment = Annotated[
    AwareDatetime, Field(strict=False), BeforeValidator(iso_moment), AfterValidator(in_utc)
]
"""A moment with its zone (ISO 8601), as UTC: what PostgreSQL's timestamptz can hold."""


def invalid(location: tuple[str, ...], reason: str) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for a rule the schema cannot state."""
    return RequestValidationError([{"loc": location, "msg": reason, "type": "value_error"}])


def create_app(
    name: str,
    *,
    routers: Sequence[APIRouter] = (),
    readiness: Sequence[ReadinessCheck] = (),
    version: str = "0.1.0",
) -> FastAPI:
    app = FastAPI(title=f"orderflow {name}", version=version)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok", "service": name}

    @app.get(
        "/readyz",
        tags=["ops"],
        responses={503: {"description": "not ready: the problems are listed"}},
    )
    async def readyz() -> JSONResponse:
        """The database and the broker are reachable."""
        problems = [p for p in [await check() for check in readiness] if p]
        if problems:
            return JSONResponse({"status": "unready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready", "service": name})

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        """Prometheus text exposition format."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = encodable(jsonable_encoder(exc.errors()))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = exc.headers
        if exc.status_code == 405:
            allowed = allowed_methods(app.router.routes, request)
            if allowed:
                headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        safe = StarletteHTTPException(exc.status_code, encodable(exc.detail), headers)
        return await http_exception_handler(request, safe)

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_undecodable_bodies(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def encodable(value: Any) -> Any:
    """``value`` with every string made UTF-8 encodable: a lone surrogate becomes "?"."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(item) for item in value]
    return value


def allowed_methods(routes: Sequence[BaseRoute], request: Request) -> list[str]:
    """Every method of every route whose path matches the request's, sorted."""
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def document_undecodable_bodies(spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI answers 400 to a JSON body it cannot decode (not UTF-8, say) before any
    validation; name that answer on every operation that takes a body."""
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                responses.setdefault("400", {"description": UNDECODABLE_BODY})
    return spec
