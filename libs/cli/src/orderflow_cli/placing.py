"""Placing an order over HTTP as a well-behaved client does: a 503 with Retry-After
(checkout's admission control, or its store briefly away) is answered by sending the
same request, with the same Idempotency-Key, after the advised wait; so is a lost
connection (a pooled keep-alive connection the server closed as it was reused), after a
short backoff: the key makes sending it again safe."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

CONNECTION_BACKOFF_S = 0.2


@dataclass
class Placement:
    response: httpx.Response
    deferred: int  # 503 + Retry-After answers honoured before this one


def retry_after_s(response: httpx.Response) -> float | None:
    """The advised wait of a 503 (delta-seconds form), or None."""
    if response.status_code != 503:
        return None
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


async def post_order(
    client: httpx.AsyncClient, url: str, body: Any, key: str, *, budget_s: float = 120.0
) -> Placement:
    """POST ``body`` until an answer other than 503 + Retry-After, or until the waits
    would pass ``budget_s`` (then the last 503 is returned, or the connection error
    raised)."""
    deadline = time.monotonic() + budget_s
    deferred = lost = 0
    while True:
        try:
            response = await client.post(url, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            backoff = min(CONNECTION_BACKOFF_S * 2**lost, 5.0)
            if time.monotonic() + backoff > deadline:
                raise
            lost += 1
            await asyncio.sleep(backoff)
            continue
        wait = retry_after_s(response)
        if wait is None or time.monotonic() + wait > deadline:
            return Placement(response, deferred)
        deferred += 1
        await asyncio.sleep(wait)
