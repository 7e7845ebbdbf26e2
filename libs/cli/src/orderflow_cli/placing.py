"""Placing an order over HTTP as a well-behaved client does: a 503 with Retry-After
(checkout's admission control, or its store briefly away) is answered by sending the
same request, with the same Idempotency-Key, after the advised wait; so is a lost
connection (a pooled keep-alive connection the server closed as it was reused), after a
short backoff: the key makes sending it again safe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

CONNECTION_BACKOFF_S = 0.2
T = TypeVar("T")


@dataclass
class Placement:
    response: httpx.Response
    deferred: int  # 503 + Retry-After answers honoured before this one


@dataclass
class Answered(Generic[T]):
    answer: T  # the last answer: not a 503 + Retry-After, or one whose wait passed the budget
    deferred: int  # 503 + Retry-After answers honoured before it
    sent_at: float  # when its request was sent (time.time()): latency counts from there


def retry_after(status: int, headers: Mapping[str, str]) -> float | None:
    """The advised wait of a 503 (delta-seconds form), or None: for any client's
    status and headers (httpx's, aiohttp's)."""
    if status != 503:
        return None
    try:
        return max(0.0, float(headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def retry_after_s(response: httpx.Response) -> float | None:
    """The advised wait of an httpx response that is a 503, or None."""
    return retry_after(response.status_code, response.headers)


async def send_until_answered(
    send: Callable[[], Awaitable[T]],
    wait_of: Callable[[T], float | None],
    lost: tuple[type[BaseException], ...],
    *,
    budget_s: float,
) -> Answered[T]:
    """The policy, whatever the HTTP client: ``send()`` again after each answer whose
    ``wait_of`` is a wait (a 503's Retry-After), and after each ``lost`` error after a
    growing backoff, until the waits would pass ``budget_s`` (then the last answer is
    returned, or the last connection error raised). ``send`` must send the same request
    (same Idempotency-Key) every time."""
    deadline = time.monotonic() + budget_s
    deferred = losses = 0
    while True:
        sent_at = time.time()
        try:
            answer = await send()
        except lost:
            backoff = min(CONNECTION_BACKOFF_S * 2**losses, 5.0)
            if time.monotonic() + backoff > deadline:
                raise
            losses += 1
            await asyncio.sleep(backoff)
            continue
        wait = wait_of(answer)
        if wait is None or time.monotonic() + wait > deadline:
            return Answered(answer, deferred, sent_at)
        deferred += 1
        await asyncio.sleep(wait)


async def post_order(
    client: httpx.AsyncClient, url: str, body: Any, key: str, *, budget_s: float = 120.0
) -> Placement:
    """POST ``body`` until an answer other than 503 + Retry-After, or until the waits
    would pass ``budget_s`` (then the last 503 is returned, or the connection error
    raised)."""
    answered = await send_until_answered(
        lambda: client.post(url, json=body, headers={"Idempotency-Key": key}),
        retry_after_s, (httpx.TransportError,), budget_s=budget_s,
    )  # fmt: skip
    return Placement(answered.answer, answered.deferred)
