"""The OpenAPI document tells the truth about the API, and every API write honours Idempotency-Key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain.auth.tokens import create_token
from backend.http.app import create_app
from tests.factories import item, warehouse

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def api(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    token = await create_token("contract", "write")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
async def document(api) -> dict:
    r = await api.get("/api/v1/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, item_ in document["paths"].items()
            for method, op in item_.items() if method in METHODS]


def schema_of(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


# --- what the document holds ----------------------------------------------------------------------------

async def test_screens_and_sync_are_not_in_the_api_document(document):
    paths = set(document["paths"])
    assert paths and all(p.startswith("/api/v1/") for p in paths), sorted(p for p in paths if "/api/" not in p)
    assert "security" not in document  # the bearer scheme is declared per API operation, not for the whole app


async def test_every_operation_is_under_the_bearer_scheme(document):
    for method, path, op in operations(document):
        assert op.get("security") == [{"bearer": []}], (method, path)


async def test_every_operation_documents_its_errors_with_the_error_body(document):
    body = schema_of(document, "ErrorBody")
    assert body["required"] == ["error"]
    assert set(schema_of(document, "ErrorDetail")["required"]) == {"code", "message"}
    for method, path, op in operations(document):
        statuses = set(op["responses"])
        expected = {"401", "422"} | ({"400", "403", "409", "413", "415"} if method == "post" else set())
        assert expected <= statuses, (method, path, sorted(statuses))
        for status in statuses - {"200", "201"}:
            content = op["responses"][status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status, content)


async def test_paths_with_a_name_in_them_document_404(document):
    for method, path, op in operations(document):
        if "{" in path:
            assert "404" in op["responses"], (method, path)


async def test_bounds_are_in_the_document(document):
    move = schema_of(document, "Move")["properties"]
    assert move["qty"]["minimum"] == 1 and move["qty"]["maximum"] == 1_000_000_000
    assert move["sku"]["minLength"] == 1 and move["sku"]["maxLength"] == 64
    assert move["doc_ref"]["maxLength"] == 128
    assert schema_of(document, "Reverse")["properties"]["movement_id"]["maximum"] < 2**63
    new_item = schema_of(document, "NewItem")["properties"]
    assert new_item["name"]["maxLength"] == 200 and new_item["name"]["minLength"] == 1
    assert new_item["unit_cost_cents"]["maximum"] < 2**63
    assert new_item["variant_attrs"]["maxProperties"] == 20
    assert schema_of(document, "NewLocation")["properties"]["walk_seq"]["maximum"] == 2**31 - 1
    assert "pattern" in new_item["name"]  # no control characters
    reserve = schema_of(document, "Reserve")["properties"]
    assert reserve["order_ref"]["maxLength"] == 128 and reserve["lines"]["maxItems"] == 500


async def test_every_string_of_every_request_body_has_a_maximum_length(document):
    def strings(schema: dict, where: str) -> list[tuple[str, dict]]:
        found = []
        for name, prop in schema.get("properties", {}).items():
            arms = prop.get("oneOf", [prop])
            free_text = [a for a in arms if a.get("type") == "string" and "format" not in a]  # not dates
            if free_text and "enum" not in prop:
                found.append((f"{where}.{name}", prop))
        return found

    bodies = [name for name, s in document["components"]["schemas"].items()
              if name not in ("ErrorBody", "ErrorDetail", "CommandAnswer") and "properties" in s]
    checked = [(where, prop) for name in bodies for where, prop in strings(schema_of(document, name), name)]
    assert len(checked) > 30
    assert [where for where, prop in checked if "maxLength" not in prop] == []


# --- Idempotency-Key on item, barcode and location writes -----------------------------------------------

WRITES = [
    ("/api/v1/items", {"sku": "CUP", "name": "Cup"}, {"sku": "CUP", "name": "Mug"}),
    ("/api/v1/items/MUG/barcodes", {"code": "4006381333931"}, {"code": "4006381333948"}),
    ("/api/v1/locations", {"code": "WH1-B9", "kind": "bin", "parent": "WH1-Z"},
     {"code": "WH1-B8", "kind": "bin", "parent": "WH1-Z"}),
]


@pytest.mark.parametrize(("path", "body", "other"), WRITES)
async def test_the_same_key_and_body_answers_the_first_result_and_writes_nothing(api, path, body, other):
    await warehouse()
    await item("MUG")
    first = await api.post(path, json=body, headers={"Idempotency-Key": "once-1"})
    again = await api.post(path, json=body, headers={"Idempotency-Key": "once-1"})
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert again.json() == first.json()


@pytest.mark.parametrize(("path", "body", "other"), WRITES)
async def test_the_same_key_with_another_body_is_a_422_naming_the_key_as_sent(api, path, body, other):
    await warehouse()
    await item("MUG")
    assert (await api.post(path, json=body, headers={"Idempotency-Key": "order 7/a"})).status_code == 201
    r = await api.post(path, json=other, headers={"Idempotency-Key": "order 7/a"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused", r.text
    assert "'order 7/a'" in r.json()["error"]["message"] and "api:" not in r.json()["error"]["message"]
    listed = await api.get(path.replace("/barcodes", ""))
    assert "WH1-B8" not in listed.text and '"Mug"' not in listed.text and "4006381333948" not in listed.text


async def test_a_key_reused_for_another_ledger_command_names_the_key_as_sent(api):
    bins = await warehouse()
    await item("MUG")
    receive = {"sku": "MUG", "qty": 2, "to_location": bins[0]}
    assert (await api.post("/api/v1/movements/receive", json=receive,
                           headers={"Idempotency-Key": "po-1"})).status_code == 201
    r = await api.post("/api/v1/movements/receive", json={**receive, "qty": 3}, headers={"Idempotency-Key": "po-1"})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("Idempotency key 'po-1' "), r.text


async def test_a_write_without_a_key_still_works_once(api):
    await warehouse()
    assert (await api.post("/api/v1/items", json={"sku": "CUP", "name": "Cup"})).status_code == 201
    assert (await api.post("/api/v1/items", json={"sku": "CUP", "name": "Cup"})).status_code == 409
