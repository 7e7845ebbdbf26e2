"""The HTTP surface every service has: /healthz, /readyz, /metrics, plus its own routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None = ready, else the reason


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

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """The database and the broker are reachable."""
        problems = [p for p in [await check() for check in readiness] if p]
        if problems:
            return JSONResponse({"status": "unready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready", "service": name})

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
