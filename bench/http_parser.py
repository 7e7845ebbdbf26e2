"""Micro-benchmark: CPU per HTTP request of the server's parser and of the load
generator's client, no database or broker.

A FastAPI app made by the services' own ``create_app``, with one ``POST /orders`` that
validates an order-sized JSON body and answers 202, runs under uvicorn in a child
process, with h11 (pure Python, uvicorn's fallback) or httptools (C). A client in this
process sends N requests, 32 in flight on keep-alive connections: httpx (the benchmark's
client before the eighteenth session) or aiohttp (since). CPU time of the server process
and of the client process per request (psutil), rounds alternating, the best of each:

    .venv/bin/python -m bench.http_parser --requests 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from typing import Any

import aiohttp
import httpx
import psutil
import uvicorn
from fastapi import APIRouter, Header
from pydantic import BaseModel

from orderflow_service.http import create_app

CONCURRENCY = 32
_BODY = {
    "customer_id": "c-0001",
    "currency": "EUR",
    "lines": [{"sku": f"SKU-{n:03d}", "quantity": 1 + n % 3} for n in range(3)],
    "payment_token": "tok_ok",
    "shipping_address": {
        "name": "A. Customer", "line1": "1 Example Street", "city": "Amsterdam",
        "postal_code": "1011AB", "country": "NL",
    },
}  # fmt: skip


class _Line(BaseModel):
    sku: str
    quantity: int


class _Order(BaseModel):
    customer_id: str
    currency: str
    lines: list[_Line]
    payment_token: str
    shipping_address: dict[str, str]


def _serve(port: int, parser: str) -> None:
    router = APIRouter()

    @router.post("/orders", status_code=202)
    async def place(
        order: _Order, idempotency_key: str = Header(alias="Idempotency-Key")
    ) -> dict[str, Any]:
        return {"order_id": idempotency_key, "status": "PENDING", "total_minor": 1000}

    app = create_app("http-parser-bench", routers=[router])
    uvicorn.run(app, host="127.0.0.1", port=port, http=parser, log_config=None, access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url + "/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


async def _with_httpx(url: str, n: int) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with gate:
                r = await client.post(url, json=_BODY, headers={"Idempotency-Key": f"k{i}"})
                assert r.status_code == 202, r.text
                r.json()

        await asyncio.gather(*(one(i) for i in range(n)))


async def _with_aiohttp(url: str, n: int) -> None:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with (
                gate,
                session.post(url, json=_BODY, headers={"Idempotency-Key": f"k{i}"}) as r,
            ):
                assert r.status == 202, await r.text()
                await r.json()

        await asyncio.gather(*(one(i) for i in range(n)))


async def _measure(parser: str, client: str, n: int) -> dict[str, float]:
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, parser))
    proc.start()
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_up(base)
        send = _with_httpx if client == "httpx" else _with_aiohttp
        await send(base + "/orders", 200)  # warm both sides up
        server = psutil.Process(proc.pid)
        me = psutil.Process()
        s0, c0, t0 = server.cpu_times(), me.cpu_times(), time.monotonic()
        await send(base + "/orders", n)
        s1, c1, t1 = server.cpu_times(), me.cpu_times(), time.monotonic()
    finally:
        proc.terminate()
        proc.join(10)
    return {
        "server_us": (s1.user + s1.system - s0.user - s0.system) / n * 1e6,
        "client_us": (c1.user + c1.system - c0.user - c0.system) / n * 1e6,
        "per_s": n / (t1 - t0),
    }


async def _main(n: int, rounds: int) -> None:
    arms = [("h11", "httpx"), ("httptools", "httpx"), ("h11", "aiohttp"), ("httptools", "aiohttp")]
    best: dict[tuple[str, str], dict[str, float]] = {}
    for r in range(rounds):
        for arm in arms if r % 2 == 0 else list(reversed(arms)):
            got = await _measure(*arm, n)
            for key, value in got.items():
                keep = max if key == "per_s" else min
                best.setdefault(arm, {})[key] = keep(best.get(arm, {}).get(key, value), value)
    print("| server parser | client | server CPU us/request | client CPU us/request | requests/s |")
    print("|---|---|---|---|---|")
    for (parser, client), v in best.items():
        print(
            f"| {parser} | {client} | {v['server_us']:.0f} | {v['client_us']:.0f} "
            f"| {v['per_s']:.0f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_main(args.requests, args.rounds))
