"""No input gives a 5xx: NUL and control characters, numbers past their columns, deep JSON, huge strings,
numbers written as strings or floats, and JSON sent as something else. Through the real app, on SQLite
and PostgreSQL (which cannot store NUL at all)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain.auth.tokens import create_token
from backend.http.app import create_app
from tests.factories import item, receive, warehouse
from tests.sync_support import csrf_client, device_of, sign_in

BIGINT_PAST = 2**63
INT_PAST = 2**31
DEEP = 1000


@pytest.fixture
async def app(ledger_db):
    return create_app(ledger_db, run_jobs=False)


@pytest.fixture
async def api(app) -> AsyncIterator[httpx.AsyncClient]:
    """The JSON API with a write token; a warehouse WH1 (bins WH1-B1..B3) and 10 MUG in WH1-B1."""
    token = await create_token("hostile", "write")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        await warehouse()
        await item("MUG")
        await receive("MUG", 10, "WH1-B1")
        yield c


def move(**changes: object) -> dict:
    return {"sku": "MUG", "qty": 1, "from_location": "WH1-B1", "to_location": "WH1-B2", **changes}


async def post(api: httpx.AsyncClient, path: str, body: object, key: str = "k-1", **headers: str) -> httpx.Response:
    return await api.post(path, json=body, headers={"Idempotency-Key": key, **headers})


async def movements(api: httpx.AsyncClient) -> int:
    return len((await api.get("/api/v1/movements", params={"reason": "move"})).json()["items"])


def refused(r: httpx.Response, status: int, code: str, *words: str) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert all(w in error["message"] for w in words), error["message"]


# --- NUL and control characters -------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/movements/move", move(sku="MU\x00G"), "sku"),
    ("/api/v1/movements/move", move(doc_ref="PO\x00-1"), "doc_ref"),
    ("/api/v1/movements/receive", {"sku": "MUG", "qty": 1, "to_location": "WH1-B1", "lot": "\x00"}, "lot"),
    ("/api/v1/reservations", {"lines": [{"sku": "MUG", "qty": 1, "location": "WH1-\x00B1"}]}, "lines[0].location"),
    ("/api/v1/items", {"sku": "CUP", "name": "Cup\x00"}, "name"),
    ("/api/v1/items", {"sku": "CUP", "name": "Cup", "variant_attrs": {"colour\x00": "red"}}, "variant_attrs"),
    ("/api/v1/locations", {"code": "WH1-B\x009", "kind": "bin", "parent": "WH1-Z"}, "code"),
    ("/api/v1/items/MUG/barcodes", {"code": "12\x0034"}, "code"),
])
async def test_a_nul_in_any_body_string_is_a_422_naming_the_field(api, path, body, field):
    r = await post(api, path, body)
    refused(r, 422, "validation_error", field, "control characters")
    assert await movements(api) == 0


@pytest.mark.parametrize("name", ["Cup\x01", "Cup\nTwo", "Cup\ttab", "Cup\x7f"])
async def test_control_characters_in_names_and_codes_are_a_422(api, name):
    refused(await post(api, "/api/v1/items", {"sku": "CUP", "name": name}), 422, "validation_error", "name")
    refused(await post(api, "/api/v1/items", {"sku": name, "name": "Cup"}), 422, "validation_error", "sku")


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/items", {"q": "mu\x00g"}),
    ("/api/v1/movements", {"doc_ref": "\x00"}),
    ("/api/v1/reservations", {"order_ref": "SO\x00"}),
    ("/api/v1/stock", {"sku": "MUG\x00"}),
    ("/api/v1/barcodes/resolve", {"code": "\x00"}),
])
async def test_a_nul_in_a_query_string_is_a_422(api, path, params):
    refused(await api.get(path, params=params), 422, "invalid_input", "NUL", next(iter(params)))


@pytest.mark.parametrize("path", ["/api/v1/items/MU%00G", "/api/v1/locations/WH1%00"])
async def test_a_nul_in_a_path_is_a_422(api, path):
    refused(await api.get(path), 422, "invalid_input", "NUL")


# --- numbers past their columns --------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/movements/reverse", {"movement_id": BIGINT_PAST, "reason": "scanned twice"}, "movement_id"),
    ("/api/v1/reservations/pick", {"reservation_id": BIGINT_PAST, "qty": 1}, "reservation_id"),
    ("/api/v1/reservations/release", {"reservation_id": BIGINT_PAST}, "reservation_id"),
    ("/api/v1/locations", {"code": "WH1-B9", "kind": "bin", "parent": "WH1-Z", "walk_seq": INT_PAST}, "walk_seq"),
    ("/api/v1/items", {"sku": "CUP", "name": "Cup", "unit_cost_cents": BIGINT_PAST}, "unit_cost_cents"),
    ("/api/v1/reservations", {"lines": [{"sku": "MUG", "qty": 1, "location": "WH1-B1"}], "ttl_min": BIGINT_PAST},
     "ttl_min"),
])
async def test_numbers_past_their_columns_are_a_422(api, path, body, field):
    refused(await post(api, path, body), 422, "validation_error", field, "at most")


async def test_a_cursor_past_any_id_is_a_400_not_a_database_error(api):
    r = await api.get("/api/v1/movements", params={"cursor": "9" * 30})
    refused(r, 400, "bad_request", "cursor")


# --- strict JSON -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("qty", ['"5"', "5.0", "1e3"])
async def test_a_quantity_must_be_a_json_integer(api, qty):
    body = f'{{"sku": "MUG", "qty": {qty}, "from_location": "WH1-B1", "to_location": "WH1-B2"}}'
    r = await api.post("/api/v1/movements/move", content=body,
                       headers={"Idempotency-Key": "k", "Content-Type": "application/json"})
    refused(r, 422, "validation_error", "qty")
    assert await movements(api) == 0


async def test_an_id_must_be_a_json_integer(api):
    [moved] = (await post(api, "/api/v1/movements/move", move())).json()["movement_ids"]
    r = await post(api, "/api/v1/movements/reverse", {"movement_id": str(moved), "reason": "x"}, key="rev")
    refused(r, 422, "validation_error", "movement_id")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_json_sent_as_another_media_type_is_a_415(api, content_type):
    r = await api.post("/api/v1/movements/move", content=str(move()).replace("'", '"'),
                       headers={"Idempotency-Key": "k", "Content-Type": content_type})
    refused(r, 415, "unsupported_media_type", "application/json")
    assert await movements(api) == 0


def _write_routes(app) -> list[str]:
    paths = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "POST" in handler.http_methods and route.path.startswith("/api/v1/") \
                    and handler.parsed_data_field is not None:
                paths.append(re.sub(r"\{\w+:int\}", "1", route.path.replace("{sku:str}", "MUG")))
    return sorted(set(paths))


@pytest.mark.parametrize("nesting", ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP])
async def test_json_nested_a_thousand_deep_is_a_400_on_every_write_route(app, api, nesting):
    paths = _write_routes(app)
    assert len(paths) >= 14, paths
    for path in paths:
        r = await api.post(path, content=nesting, headers={"Idempotency-Key": "deep",
                                                           "Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "json_too_deep"), (path, r.text)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/items", {"sku": "CUP", "name": "x" * 10_000}, "name"),
    ("/api/v1/items", {"sku": "C" * 10_000, "name": "Cup"}, "sku"),
    ("/api/v1/locations", {"code": "WH1-B9", "kind": "bin", "parent": "WH1-Z", "name": "x" * 10_000}, "name"),
    ("/api/v1/movements/move", move(doc_ref="x" * 10_000), "doc_ref"),
    ("/api/v1/reservations", {"lines": [{"sku": "MUG", "qty": 1, "location": "WH1-B1"}], "order_ref": "x" * 10_000},
     "order_ref"),
])
async def test_ten_thousand_character_strings_are_refused(api, path, body, field):
    refused(await post(api, path, body), 422, "validation_error", field, "at most")


# --- screens and the handheld's sync ---------------------------------------------------------------------

@pytest.fixture
async def floor(app) -> AsyncIterator[httpx.AsyncClient]:
    async with csrf_client(app) as c:
        await warehouse()
        await item("MUG")
        yield c


async def test_a_nul_in_the_tablet_stock_search_is_a_422(floor):
    await sign_in(floor, "lead")
    r = await floor.get("/tablet/stock", params={"q": "mug\x00"})
    assert r.status_code == 422 and "NUL" in r.text


async def test_a_nul_in_a_floor_form_is_a_422(floor):
    await sign_in(floor, "picker")
    r = await floor.post("/floor/lookup", data={"code": "WH1\x00B1"}, headers={"hx-request": "true"})
    assert r.status_code == 422 and "NUL" in r.text


async def test_an_id_past_bigint_in_a_screen_path_is_a_422(floor):
    await sign_in(floor, "manager")
    r = await floor.post(f"/tablet/approvals/count/{BIGINT_PAST}", data={"decision": "approve"},
                         headers={"hx-request": "true"})
    assert r.status_code == 422, r.text


async def test_a_nul_in_a_sync_envelope_rejects_that_scan_with_a_reason(floor):
    picker = await sign_in(floor, "picker")
    hh = device_of(floor)
    bad = hh.scan(picker, "move", sku="MU\x00G", qty=1, from_location="WH1-B1", to_location="WH1-B2")
    r = await floor.post("/sync/txns", json={"device_id": hh.device_id, "envelopes": [bad]})
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert result["status"] == "rejected" and "NUL" in result["reason"], result


@pytest.mark.parametrize(("batch", "words"), [
    ({"pending": INT_PAST}, "pending"),
    ({"failed": INT_PAST}, "failed"),
    ({"pending": "5"}, "pending"),
    ({"device_id": "hh\x00"}, "device_id"),
])
async def test_a_sync_batch_with_a_bad_counter_or_device_is_a_422(floor, batch, words):
    await sign_in(floor, "picker")
    body = {"device_id": device_of(floor).device_id, "envelopes": [], **batch}
    refused(await floor.post("/sync/txns", json=body), 422, "validation_error", words)


async def test_a_sync_batch_nested_a_thousand_deep_is_a_400(floor):
    await sign_in(floor, "picker")
    body = '{"device_id": "x", "envelopes": ' + "[" * DEEP + "]" * DEEP + "}"
    r = await floor.post("/sync/txns", content=body, headers={"Content-Type": "application/json"})
    refused(r, 400, "json_too_deep")


@pytest.mark.parametrize("sent_as", ["query", "form"])
async def test_an_id_past_bigint_in_a_screen_query_or_form_is_a_422_not_a_500(floor, sent_as):
    """The net under the boundary: a value no column can hold is the client's error wherever it comes in."""
    await sign_in(floor, "counter")
    if sent_as == "query":
        r = await floor.get("/floor/count", params={"task_id": BIGINT_PAST}, headers={"hx-request": "true"})
    else:
        r = await floor.post("/floor/count", data={"task_id": str(BIGINT_PAST), "code": "WH1-B1"},
                             headers={"hx-request": "true"})
    assert r.status_code == 422, r.text
