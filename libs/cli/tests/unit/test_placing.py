"""The CLI's and the load generator's HTTP client honours 503 + Retry-After."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from orderflow_cli.placing import post_order, retry_after, retry_after_s


def overloaded_then_accepted(times: int, seen: list[tuple[float, str]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((time.monotonic(), request.headers["Idempotency-Key"]))
        if len(seen) <= times:
            return httpx.Response(503, headers={"Retry-After": "0.2"}, json={"detail": []})
        return httpx.Response(202, json={"order_id": "o-1"})

    return httpx.MockTransport(handle)


async def test_the_same_request_is_sent_again_after_the_advised_wait() -> None:
    seen: list[tuple[float, str]] = []
    async with httpx.AsyncClient(transport=overloaded_then_accepted(2, seen)) as client:
        placement = await post_order(client, "http://checkout/orders", {"a": 1}, "key-7")
    assert placement.response.status_code == 202
    assert placement.deferred == 2
    assert [key for _, key in seen] == ["key-7"] * 3
    waits = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(seen)]
    assert all(wait >= 0.19 for wait in waits)


async def test_past_the_budget_the_last_503_is_returned() -> None:
    seen: list[tuple[float, str]] = []
    async with httpx.AsyncClient(transport=overloaded_then_accepted(100, seen)) as client:
        placement = await post_order(client, "http://c/orders", {}, "k", budget_s=0.5)
    assert placement.response.status_code == 503
    assert 2 <= len(seen) <= 4


def test_only_a_503_with_a_usable_retry_after_is_a_deferral() -> None:
    assert retry_after_s(httpx.Response(503, headers={"Retry-After": "2"})) == 2.0
    assert retry_after_s(httpx.Response(503)) is None
    assert retry_after_s(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after_s(httpx.Response(429, headers={"Retry-After": "2"})) is None
    # the same rule for another client's status and headers (the benchmark's aiohttp)
    assert retry_after(503, {"Retry-After": "-1"}) == 0.0
    assert retry_after(200, {"Retry-After": "2"}) is None


async def test_a_lost_connection_is_retried_with_the_same_key() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        if len(seen) <= 2:  # a pooled connection the server had closed, twice
            raise httpx.ReadError("connection closed", request=request)
        return httpx.Response(202, json={"order_id": "o-1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        placement = await post_order(client, "http://c/orders", {}, "key-9")
    assert placement.response.status_code == 202
    assert placement.deferred == 0
    assert seen == ["key-9"] * 3


async def test_a_connection_that_stays_lost_past_the_budget_raises() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(httpx.ConnectError):
            await post_order(client, "http://c/orders", {}, "k", budget_s=0.5)
