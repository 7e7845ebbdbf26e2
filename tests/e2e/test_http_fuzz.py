"""HTTP edge fuzzing (RELIABILITY.md, "Bad input"): schemathesis on every service's
OpenAPI, against the real service processes on the real broker and database.

``test_every_operation_of_every_service``: for each operation of the schema each service
serves at /openapi.json, schemathesis's coverage phase (boundary values and
schema-violating values, deterministic) and a bounded, derandomized fuzzing phase. Every
answer must:
- never be a 5xx;
- conform to the OpenAPI: a documented status code, content type, headers and body;
- be a 4xx for input that violates the schema, and every 4xx names a reason (``detail``);
- for an operation that writes, leave what it could have written unchanged when it is a
  4xx (read through the stack's DATABASE_URL, by the id the request names);
- be the same when a PUT, or a POST /orders with its Idempotency-Key, is sent again.
Not asserted: "schema-valid => accepted" (schemathesis's positive_data_acceptance): the
business rules (a known, active SKU priced in the order's currency, ...) are not in the
OpenAPI, so a schema-valid order for an unknown SKU is rightly a 422.

``test_text_postgresql_cannot_store_is_refused``: a valid request of every operation with
NUL (or a lone surrogate) put into each of its strings, which random generation meets
too rarely: refused with a 4xx, never a 5xx from the database.

The admin actions of orders need the admin bearer token: the fuzz sends none (or a random
one), so none of them may ever succeed; ``test_admin_actions_refuse_without_the_token``
checks the 401 on a real saga and that nothing changes.

Then checkout's idempotency as a property on real products
(``test_same_key_same_answer_and_a_rejection_keeps_nothing``), and the response schemas
on real objects, which random ids never reach (``test_real_objects_match_the_schemas``).
Budget: under a minute on 2 cores after the services are up (bounded, derandomized
example counts, no deadline).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.specs.openapi.schemas import OpenApiSchema

from orderflow_contracts.catalogue import SERVICES

from .conftest import System, new_product, order_body, place, until

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 30  # fuzzing phase, per operation; the coverage phase adds its own cases
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def load_schema(system: System, service: str) -> OpenApiSchema:
    """The schema the running service serves, set up to call that service."""
    base = system.url(service)
    schema = schemathesis.openapi.from_url(
        f"{base}/openapi.json", config=schemathesis.Config(), timeout=10
    )
    schema.config.update(base_url=base, request_timeout=10)
    schema.config.phases.update(phases=["coverage", "fuzzing"])
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
    schema.config.checks.update(excluded_check_names=["positive_data_acceptance"])
    return schema


# --- what a rejected request must not have written ------------------------------------

CATALOG = (
    "SELECT row(p.*)::text FROM catalog.products p WHERE p.sku = $1",
    "SELECT count(*)::text FROM catalog.outbox WHERE correlation_id = $1",
)
CATEGORY = ("SELECT row(c.*)::text FROM catalog.categories c WHERE c.slug = $1",)
ANNOUNCED = "SELECT count(*)::text FROM catalog.outbox WHERE correlation_id = $1"
PRICE_LIST = ("SELECT row(l.*)::text FROM catalog.price_lists l WHERE l.list_id = $1", ANNOUNCED)
PRICE_RULE = ("SELECT row(r.*)::text FROM catalog.price_rules r WHERE r.rule_id = $1", ANNOUNCED)
PRICE_GROUPS = (
    "SELECT row(g.*)::text FROM catalog.customer_price_groups g WHERE g.customer_id = $1",
    ANNOUNCED,
)
INVENTORY = ("SELECT row(s.*)::text FROM inventory.stock_items s WHERE s.sku = $1",)
SAGA = (
    "SELECT row(s.*)::text FROM orders.sagas s WHERE s.order_id = $1",
    "SELECT count(*)::text FROM orders.saga_history WHERE order_id = $1",
    "SELECT count(*)::text FROM orders.outbox WHERE correlation_id = $1",
)
PLACED = (
    "SELECT count(*)::text FROM checkout.orders WHERE idempotency_key = $1",
    "SELECT count(*)::text FROM checkout.outbox WHERE correlation_id IN "
    "(SELECT order_id::text FROM checkout.orders WHERE idempotency_key = $1)",
)


def _path(name: str) -> Callable[[Case], object]:
    return lambda case: (case.path_parameters or {}).get(name)


def _body(name: str) -> Callable[[Case], object]:
    return lambda case: case.body.get(name) if isinstance(case.body, dict) else None


def _header(name: str) -> Callable[[Case], object]:
    return lambda case: (case.headers or {}).get(name)


# (service, method, path) -> (the id the request names, what is stored under that id)
WRITES: dict[tuple[str, str, str], tuple[Callable[[Case], object], tuple[str, ...]]] = {
    ("catalog", "POST", "/products"): (_body("sku"), CATALOG),
    ("catalog", "PUT", "/products/{sku}/price"): (_path("sku"), CATALOG),
    ("catalog", "PUT", "/products/{sku}/details"): (_path("sku"), CATALOG),
    ("catalog", "POST", "/categories"): (_body("slug"), CATEGORY),
    ("catalog", "PUT", "/price-lists/{list_id}"): (_path("list_id"), PRICE_LIST),
    ("catalog", "PUT", "/price-rules/{rule_id}"): (_path("rule_id"), PRICE_RULE),
    ("catalog", "PUT", "/customers/{customer_id}/price-groups"): (
        _path("customer_id"),
        PRICE_GROUPS,
    ),
    ("inventory", "PUT", "/stock/{sku}"): (_path("sku"), INVENTORY),
    ("orders", "POST", "/orders/{order_id}/cancel"): (_path("order_id"), SAGA),
    ("orders", "POST", "/admin/sagas/{order_id}/retry"): (_path("order_id"), SAGA),
    ("orders", "POST", "/admin/sagas/{order_id}/compensate"): (_path("order_id"), SAGA),
    ("orders", "POST", "/admin/sagas/{order_id}/resolve"): (_path("order_id"), SAGA),
    ("checkout", "POST", "/orders"): (_header("Idempotency-Key"), PLACED),
}


def _storable(value: object) -> str | None:
    """``value`` if something could be stored under it (text PostgreSQL accepts)."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value


class Database:
    """Synchronous reads for the (synchronous) schemathesis tests: its own event loop
    and connection, with the stack's admin URL."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(url))

    def values(self, queries: tuple[str, ...], ident: str) -> list[Any]:
        return [self._loop.run_until_complete(self._conn.fetchval(q, ident)) for q in queries]

    def close(self) -> None:
        self._loop.run_until_complete(self._conn.close())
        self._loop.close()


@pytest.fixture(scope="module")
def database(system: System) -> Iterator[Database]:
    db = Database(system.settings["DATABASE_URL"])
    try:
        yield db
    finally:
        db.close()


class Footprint:
    """What ``case`` could write, before and after the request."""

    def __init__(self, service: str, case: Case, database: Database) -> None:
        ident, self.queries = WRITES.get((service, case.method.upper(), case.path), (None, ()))
        self.ident = _storable(ident(case)) if ident else None
        self.database = database

    def read(self) -> list[Any] | None:
        if self.ident is None:
            return None
        return self.database.values(self.queries, self.ident)


# --- the checks added to schemathesis's own ------------------------------------------


def refusal_names_a_reason(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx says why: a non-empty ``detail`` (a text, or items with a msg/reason)."""
    del ctx, case
    if not 400 <= response.status_code < 500:
        return None
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        raise AssertionError(f"{response.status_code} without a JSON detail") from None
    if isinstance(detail, list):
        reasons = [i.get("msg") or i.get("reason") for i in detail if isinstance(i, dict)]
        assert reasons, detail
        assert len(reasons) == len(detail), detail
        assert all(reasons), detail
    else:
        assert isinstance(detail, str), f"{response.status_code}: {detail!r}"
        assert detail, f"{response.status_code}: empty detail"
    return None


def admin_actions_need_the_token(ctx: CheckContext, response: Response, case: Case) -> None:
    """The fuzz never has the admin token: no admin action may succeed."""
    del ctx
    if case.method.upper() == "POST" and case.path.startswith("/admin/"):
        assert response.status_code >= 400, f"{case.path} answered {response.status_code}"


# The price data the fuzz may save: (collection path, id field, kind in checkout's copy).
PRICE_DATA = (
    ("/price-lists", "list_id", "list"),
    ("/price-rules", "rule_id", "rule"),
    ("/promotions", "promotion_id", "promotion"),
    ("/delivery-methods", "method_id", "delivery"),
)
VIEW_ONLY = {"list_id", "rule_id", "promotion_id", "method_id", "revision", "redeemed"}


@pytest.fixture(scope="module", autouse=True)
def restore_price_data(system: System) -> Iterator[None]:
    """The fuzz saves valid random price data (once, a cart rule taking 94 % off every
    order): afterwards each price list, rule, promotion and delivery method it created is
    withdrawn and each it changed is put back, through the catalog's API so that
    checkout's copy follows, and the tests after it price as they expect."""
    catalog = system.url("catalog")
    with httpx.Client(base_url=catalog, timeout=10) as client:
        before = {p: {v[key]: v for v in client.get(p).json()} for p, key, _ in PRICE_DATA}
    yield
    wanted: dict[tuple[str, str], int] = {}
    with httpx.Client(base_url=catalog, timeout=10) as client:
        for path, key, kind in PRICE_DATA:
            for view in client.get(path).json():
                old = before[path].get(view[key])
                if old is not None and old["revision"] == view["revision"]:
                    continue
                if old is None and not view["active"]:
                    continue
                body = {k: v for k, v in (old or view).items() if k not in VIEW_ONLY}
                body["active"] = body["active"] if old is not None else False
                put = client.put(f"{path}/{view[key]}", json=body)
                assert put.status_code == 200, (path, view[key], put.text)
                wanted[(kind, view[key])] = put.json()["revision"]
        deadline = time.monotonic() + 30
        while wanted and time.monotonic() < deadline:
            held = client.get(system.url("checkout") + "/catalog/price-data").json()
            copied = {(d["kind"], d["id"]): d["revision"] for d in held}
            wanted = {k: r for k, r in wanted.items() if copied.get(k, 0) < r}
            time.sleep(0.2)
    assert not wanted, f"checkout's copy never caught up: {wanted}"


@pytest.fixture(params=SERVICES)
def api(request: pytest.FixtureRequest, system: System) -> OpenApiSchema:
    service: str = request.param
    return load_schema(system, service)


fuzzed = schemathesis.pytest.from_fixture("api")


@fuzzed.parametrize()
@FUZZ_SETTINGS
def test_every_operation_of_every_service(case: Case, database: Database) -> None:
    service = str(case.operation.schema.raw_schema["info"]["title"]).removeprefix("orderflow ")
    footprint = Footprint(service, case, database)
    before = footprint.read()
    response = case.call_and_validate(
        additional_checks=[refusal_names_a_reason, admin_actions_need_the_token]
    )
    if 400 <= response.status_code < 500:
        assert footprint.read() == before, (
            f"a {response.status_code} wrote: {case.as_curl_command()}"
        )
    keyed = footprint.queries is PLACED and footprint.ident is not None
    if case.method.upper() == "PUT" or keyed:
        again = case.call()
        assert (again.status_code, again.content) == (response.status_code, response.content), (
            f"sent twice, answered differently: {case.as_curl_command()}"
        )


# --- text PostgreSQL cannot store --------------------------------------------------------

# NUL cannot be in a PostgreSQL text; a lone surrogate (JSON "\ud800") cannot be encoded
# to UTF-8 (and cannot travel in a URL at all). Random generation meets them rarely, so
# every string of a valid request is poisoned on purpose, one location at a time.
POISONS = {"path_parameters": ("\x00",), "query": ("\x00",), "body": ("\x00", "\ud800")}


def _poisoned(value: Any, poison: str) -> Any:
    if isinstance(value, str):
        return f"{value}{poison}x"
    if isinstance(value, dict):
        return {key: _poisoned(item, poison) for key, item in value.items()}
    if isinstance(value, list):
        return [_poisoned(item, poison) for item in value]
    return value


def _has_text(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_text(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_text(item) for item in value)
    return isinstance(value, str)


@pytest.mark.parametrize("service", SERVICES)
def test_text_postgresql_cannot_store_is_refused(
    system: System, database: Database, service: str
) -> None:
    """A valid request of every operation with its path parameters, its query, then its
    body strings carrying NUL (or a lone surrogate): a 4xx with a reason that conforms
    to the schema, never a 5xx, and nothing written."""
    schema = load_schema(system, service)
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(FUZZ_SETTINGS, max_examples=2)
        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        def probe(case: Case) -> None:
            for where, poisons in POISONS.items():
                value = getattr(case, where)
                if not _has_text(value):
                    continue
                for poison in poisons:
                    parts = {
                        "path_parameters": case.path_parameters,
                        "query": case.query,
                        "headers": case.headers,
                        "body": case.body,
                        where: _poisoned(value, poison),
                    }
                    bad = case.operation.Case(media_type=case.media_type, **parts)
                    footprint = Footprint(service, bad, database)
                    before = footprint.read()
                    response = bad.call_and_validate(additional_checks=[refusal_names_a_reason])
                    assert 400 <= response.status_code < 500, bad.as_curl_command()
                    assert footprint.read() == before, bad.as_curl_command()

        probe()


# --- checkout: the same key gets the same answer; a rejection keeps nothing ----------


@pytest.fixture(scope="module")
async def stocked_sku(system: System) -> str:
    async with httpx.AsyncClient(timeout=20.0) as http:
        return await new_product(http, system, stock=10_000, price_minor=500)


def _variants(sku: str) -> st.SearchStrategy[dict[str, Any]]:
    """Order requests around a real SKU: valid ones and every kind of refusal."""
    lines = st.lists(
        st.tuples(st.sampled_from([sku, "NO-SUCH-SKU"]), st.sampled_from([1, 2, 0, 10_001])),
        min_size=1,
        max_size=2,
    )
    changes = st.sampled_from(
        [
            {},
            {"currency": None},  # omitted: the default EUR
            {"currency": "USD"},
            {"coupon": "FREE"},
            {"customer_id": "c\x00nul"},
            {"payment_token": "4242424242424242"},
            {"lines": "not a list"},
        ]
    )
    tokens = st.sampled_from(["tok_ok", "tok_decline"])

    def build(lines: list[tuple[str, int]], token: str, change: dict[str, Any]) -> dict[str, Any]:
        body = order_body(*lines, token=token) | change
        return {k: v for k, v in body.items() if v is not None}

    return st.builds(build, lines, tokens, changes)


def test_same_key_same_answer_and_a_rejection_keeps_nothing(
    system: System, database: Database, stocked_sku: str
) -> None:
    """The same Idempotency-Key and body get the same status and body, refusals too; a
    refused request stores nothing, so its key stays free; once an order is placed, the
    key with another body is a 409 with the reason."""
    url = system.url("checkout") + "/orders"
    answered: list[int] = []
    valid = order_body((stocked_sku, 1))
    without_currency = {k: v for k, v in order_body((stocked_sku, 2)).items() if k != "currency"}

    @settings(FUZZ_SETTINGS, max_examples=12)
    @given(body=_variants(stocked_sku))
    @example(body=valid)
    @example(body=without_currency)
    def check(body: dict[str, Any]) -> None:
        key = f"fuzz-{uuid.uuid4()}"
        with httpx.Client(timeout=20.0) as http:
            first = http.post(url, json=body, headers={"Idempotency-Key": key})
            again = http.post(url, json=body, headers={"Idempotency-Key": key})
            assert (again.status_code, again.json()) == (first.status_code, first.json())
            other = {**body, "customer_id": f"other-{uuid.uuid4().hex[:8]}"}
            third = http.post(url, json=other, headers={"Idempotency-Key": key})
        stored_orders, stored_messages = (int(v) for v in database.values(PLACED, key))
        answered.append(first.status_code)
        if first.status_code == 202:
            assert (stored_orders, stored_messages) == (1, 1)
            assert third.status_code == 409, third.text
            assert third.json()["detail"][0]["field"] == "Idempotency-Key", third.text
            return
        assert first.status_code in (400, 422), first.text
        assert all(p["reason"] for p in first.json()["detail"]), first.text
        # Nothing was kept under the key: another request with it is answered afresh.
        assert third.status_code != 409, third.text
        expected = (1, 1) if third.status_code == 202 else (0, 0)
        assert (stored_orders, stored_messages) == expected

    check()
    assert 202 in answered, answered
    assert 422 in answered, answered


# --- admin actions without the admin token --------------------------------------------

ADMIN_ACTIONS = [
    ("retry", None),
    ("compensate", {"reason": "fuzz"}),
    ("resolve", {"note": "fuzz"}),
]


async def _saga_footprint(system: System, order_id: str) -> list[Any]:
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        return [await conn.fetchval(q, order_id) for q in SAGA]
    finally:
        await conn.close()


async def test_admin_actions_refuse_without_the_token(
    http: httpx.AsyncClient, system: System
) -> None:
    """On a real (terminal) saga: no token, a wrong one or another scheme is a 401 with
    the reason, for a dry run and an applied action alike, and nothing changes."""
    sku = await new_product(http, system, stock=0)
    order_id = await place(http, system, order_body((sku, 1)))
    assert (await until(http, system, order_id))["status"] == "REJECTED"
    before = await _saga_footprint(system, order_id)
    base = system.url("orders") + f"/admin/sagas/{order_id}"
    for authorization in (None, "Bearer not-the-token", "Basic YWRtaW46YWRtaW4="):
        headers = {"Authorization": authorization} if authorization else {}
        for action, body in ADMIN_ACTIONS:
            for dry_run in ("true", "false"):
                response = await http.post(
                    f"{base}/{action}", params={"dry_run": dry_run}, json=body, headers=headers
                )
                assert response.status_code == 401, (authorization, action, response.text)
                assert response.json()["detail"], response.text
                assert response.headers["WWW-Authenticate"] == "Bearer"
    assert await _saga_footprint(system, order_id) == before


# --- response schemas on real objects --------------------------------------------------


async def test_real_objects_match_the_schemas(http: httpx.AsyncClient, system: System) -> None:
    """Random ids only ever meet 404s: here every read of a real, completed order (and
    of its SKU and customer) is validated against the schema of the service answering."""
    sku = await new_product(http, system, stock=5, price_minor=1250)
    body = order_body((sku, 2))
    order_id = await place(http, system, body)
    done = await until(http, system, order_id)
    assert done["status"] == "COMPLETED", done
    reads: list[tuple[str, str, str, dict[str, Any]]] = [
        ("catalog", "GET", "/products/{sku}", {"path_parameters": {"sku": sku}}),
        ("checkout", "GET", "/orders/{order_id}", {"path_parameters": {"order_id": order_id}}),
        ("orders", "GET", "/orders/{order_id}", {"path_parameters": {"order_id": order_id}}),
        ("orders", "GET", "/orders", {"query": {"status": "COMPLETED", "limit": 5}}),
        ("inventory", "GET", "/stock/{sku}", {"path_parameters": {"sku": sku}}),
        ("payment", "GET", "/payments/{order_id}", {"path_parameters": {"order_id": order_id}}),
        ("payment", "GET", "/ledger", {"query": {"order_id": order_id}}),
        ("shipping", "GET", "/shipments/{order_id}", {"path_parameters": {"order_id": order_id}}),
        ("shipping", "GET", "/shipments", {"query": {"limit": 5}}),
        (
            "history",
            "GET",
            "/history/orders/{order_id}",
            {"path_parameters": {"order_id": order_id}},
        ),
        (
            "history",
            "GET",
            "/history/customers/{customer_id}/orders",
            {"path_parameters": {"customer_id": body["customer_id"]}},
        ),
    ]
    schemas = {service: load_schema(system, service) for service in SERVICES}
    for service, method, path, parts in reads:
        case = schemas[service][path][method].Case(**parts)
        deadline = time.monotonic() + 30  # the read models catch up asynchronously
        while True:
            response = await asyncio.to_thread(case.call_and_validate)
            found = response.status_code == 200 and json.loads(response.content) != []
            if found or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert found, f"{service} {method} {path}: {response.status_code} {response.text}"
