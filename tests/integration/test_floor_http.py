"""Floor screens through the real app (session cookie + CSRF header, as htmx sends them), on
SQLite and Postgres: what a posted form does, and what it must not do without being asked."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.auth.users import UserView
from backend.domain.fulfillment import service as f
from backend.http.app import create_app
from tests.factories import item, key, receive, warehouse
from tests.sync_support import Handheld, csrf_client, device_of, on_hand, sign_in, table_count

B1, B2, B3 = "WH1-B1", "WH1-B2", "WH1-B3"
TEA_GTIN = "4006381333931"
LEAD = Actor("lead-1", "tablet-1", role="lead")
# A counted line of the count screen (web/templates/floor/count.html): item, then the quantity counted.
COUNTED_MUG_3 = '<span data-slot="sku">MUG</span></td><td data-slot="counted">3</td>'


@pytest.fixture
async def client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ledger_db, run_jobs=False)
    async with csrf_client(app) as c:
        c.headers["hx-request"] = "true"
        yield c


def tea_scan(lot: str) -> str:
    """A GS1 label: GTIN of TEA, then its lot."""
    return f"]C1010{TEA_GTIN}10{lot}"


# --- a step that changes stock posts nothing: it answers with the envelope the outbox sends ----------

def envelope_of(page: str) -> tuple[str, dict[str, Any], str]:
    """(kind, payload, words once applied) of the step's <template data-envelope>, as outbox.js reads it."""
    found = re.search(r'<template data-envelope data-kind="(\w+)" data-payload="([^"]*)"\s+data-ok="([^"]*)"', page)
    assert found, "the step answered without an envelope"
    return found[1], json.loads(html.unescape(found[2])), html.unescape(found[3])


async def send(client: httpx.AsyncClient, who: UserView, hh: Handheld, page: str) -> dict[str, Any]:
    """What the outbox does with the step's envelope: POST /sync/txns; the envelope's final result."""
    kind, payload, _ = envelope_of(page)
    scan = hh.scan(who, kind, **payload)
    r = await client.post("/sync/txns", json={"device_id": hh.device_id, "envelopes": [scan], "pending": 1})
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    return result


async def test_a_receive_step_posts_nothing_and_its_envelope_posts_the_receipt(client):
    await warehouse()
    await item("MUG")
    who, hh = await sign_in(client, "receiver"), device_of(client)
    r = await client.post("/floor/receive", data={"key": key(), "sku": "MUG", "qty": "5", "damaged": "2", "code": B1})
    assert r.status_code == 200 and "Saving…" in r.text
    # What the worker did (the SKU typed, the quantity typed), for the server to interpret when applied.
    assert envelope_of(r.text) == ("receive", {"items": ["MUG", 5], "to_bin": B1, "lot": "", "damaged": 2,
                                               "doc_ref": ""}, f"Received 5 MUG into {B1} (2 damaged)")
    assert await table_count("movements") == 0 and await table_count("command_log") == 0  # the check left nothing
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    assert (await on_hand("MUG", B1), await on_hand("MUG", B1, "damaged")) == (5, 2)


async def test_a_move_of_more_than_the_bin_holds_is_refused_at_once_with_no_envelope(client):
    await warehouse()
    await item("MUG")
    await receive("MUG", 2, B1)
    await sign_in(client, "receiver")
    r = await client.post("/floor/move", data={"key": key(), "from_bin": B1, "sku": "MUG", "qty": "3", "code": B2})
    assert r.status_code == 409 and f"Not enough MUG in {B1}" in r.text and "data-envelope" not in r.text
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (2, 0)


async def test_a_move_step_answers_with_the_move_its_envelope_posts(client):
    await warehouse()
    await item("MUG")
    await receive("MUG", 3, B1)
    who, hh = await sign_in(client, "receiver"), device_of(client)
    r = await client.post("/floor/move", data={"key": key(), "from_bin": B1, "sku": "MUG", "qty": "2", "code": B2})
    assert r.status_code == 200 and await on_hand("MUG", B2) == 0
    assert envelope_of(r.text)[:2] == ("move", {"from_bin": B1, "items": ["MUG", 2], "to_bin": B2, "doc_ref": ""})
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (1, 2)


# --- only an explicit button acts beyond the scan ---------------------------------------------------

async def _pick_list_for(qty: int) -> f.PickListView:
    await warehouse()
    await item("MUG")
    await receive("MUG", qty, B1)
    spec = f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", qty)])
    await f.create_manual_order(spec, key=key("order"), actor=LEAD)
    return await f.create_pick_list("SO-1", key=key("pl"), actor=LEAD)


async def test_a_short_reason_left_checked_does_not_short_the_line_a_scan_picks(client):
    pick_list = await _pick_list_for(3)
    [line] = pick_list.lines
    who, hh = await sign_in(client, "picker"), device_of(client)
    form = {"key": key(), "line_id": str(line.id), "bin_ok": "true", "short_reason": "empty_bin"}
    r = await client.post(f"/floor/pick/{pick_list.id}", data={**form, "code": "MUG"})
    assert r.status_code == 200 and "(1 of 3 done)" in r.text  # the line as the envelope leaves it
    assert envelope_of(r.text) == ("pick", {"pick_list_id": pick_list.id, "line_id": line.id, "bin": B1,
                                            "item_code": "MUG", "qty": 1}, "Picked 1 of 3 MUG, 2 to go")
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    assert await table_count("pick_list_lines", "short_qty > 0") == 0
    assert await table_count("pick_list_lines", "picked_qty = 1") == 1
    r = await client.post(f"/floor/pick/{pick_list.id}", data={**form, "key": key(), "action": "short"})
    assert r.status_code == 200 and "Short pick of MUG recorded" in r.text and "data-envelope" not in r.text
    assert await table_count("pick_list_lines", "short_qty > 0") == 1


async def test_a_wrong_item_on_a_pick_is_refused_at_once_with_no_envelope(client):
    pick_list = await _pick_list_for(1)
    [line] = pick_list.lines
    await item("LAMP")
    await sign_in(client, "picker")
    r = await client.post(f"/floor/pick/{pick_list.id}",
                          data={"key": key(), "line_id": str(line.id), "bin_ok": "true", "code": "LAMP"})
    assert r.status_code == 422 and "Wrong item" in r.text and "data-envelope" not in r.text
    assert await table_count("pick_list_lines", "picked_qty > 0") == 0


async def test_a_putaway_override_answers_with_an_envelope_only_when_its_button_is_pressed(client):
    await warehouse()
    await item("MUG")
    await receive("MUG", 2, B1)
    who, hh = await sign_in(client, "receiver"), device_of(client)
    form = {"key": key(), "from_bin": B1, "sku": "MUG", "qty": "2", "suggested": B2, "override_bin": B3,
            "reason": "consolidating"}
    r = await client.post("/floor/putaway", data=form)
    assert r.status_code == 200 and "data-envelope" not in r.text
    r = await client.post("/floor/putaway", data={**form, "action": "override"})
    assert r.status_code == 200 and envelope_of(r.text)[2] == f"Put away 2 MUG in {B3}"
    assert await on_hand("MUG", B3) == 0
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    assert await on_hand("MUG", B3) == 2
    why = await db.fetch_one("SELECT doc_ref FROM movements WHERE idempotency_key LIKE 'sync:%'")
    assert why is not None and why["doc_ref"] == f"PUTAWAY override: consolidating; suggested {B2}"


async def test_an_adjustment_answers_with_an_envelope_only_when_its_button_is_pressed(client):
    await warehouse()
    await item("MUG")
    who, hh = await sign_in(client, "lead"), device_of(client)
    form = {"key": key(), "bin": B1, "sku": "MUG", "delta": "3", "reason": "found"}
    r = await client.post("/floor/adjust", data=form)  # an Enter on the empty scan field
    assert r.status_code == 200 and "data-envelope" not in r.text
    r = await client.post("/floor/adjust", data={**form, "action": "post"})
    assert r.status_code == 200 and envelope_of(r.text)[:2] == ("adjust", {"bin": B1, "item_code": "MUG", "delta": 3,
                                                                          "reason": "found", "lot": ""})
    assert await on_hand("MUG", B1) == 0
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    assert await on_hand("MUG", B1) == 3


async def test_a_counted_item_shows_its_count_and_is_recorded_only_by_its_envelope(client):
    await warehouse()
    await item("MUG")
    await receive("MUG", 4, B1)
    who, hh = await sign_in(client, "counter"), device_of(client)
    r = await client.post("/floor/count", data={"key": key(), "code": B1})
    task_id = int(re.search(r'name="task_id" value="(\d+)"', r.text)[1])
    r = await client.post("/floor/count", data={"key": key(), "task_id": str(task_id), "qty": "3", "code": "MUG"})
    assert r.status_code == 200 and COUNTED_MUG_3 in r.text
    assert envelope_of(r.text)[:2] == ("count", {"task_id": task_id, "item_code": "MUG", "qty": 3, "mode": "set",
                                                  "lot": ""})
    assert await table_count("count_lines", "entered = TRUE") == 0
    counted_rows = (await client.get(f"/floor/count?task_id={task_id}")).text.split('<tbody data-rows="counted">')[1]
    assert "MUG" not in counted_rows
    assert (await send(client, who, hh, r.text))["status"] == "applied"
    assert COUNTED_MUG_3 in (await client.get(f"/floor/count?task_id={task_id}")).text


# --- scans add up per item and lot; only bins are bins ----------------------------------------------

async def test_a_move_refuses_a_second_lot_of_the_item_it_is_counting(client):
    await warehouse()
    await item("TEA", gtin=TEA_GTIN, lot_tracked=True)
    await receive("TEA", 5, B1, lot="L1")
    await receive("TEA", 5, B1, lot="L2")
    await sign_in(client, "receiver")
    state = {"key": key(), "from_bin": B1, "sku": "TEA", "qty": "1", "lot": "L1"}
    r = await client.post("/floor/move", data={**state, "code": tea_scan("L1")})
    assert r.status_code == 200 and "TEA × 2" in r.text
    r = await client.post("/floor/move", data={**state, "qty": "2", "code": tea_scan("L2")})
    assert r.status_code == 422 and "Finish or clear TEA lot L1 before scanning lot L2" in r.text


async def test_a_receipt_scan_of_another_lot_does_not_add_to_the_first(client):
    await warehouse()
    await item("TEA", gtin=TEA_GTIN, lot_tracked=True)
    await sign_in(client, "receiver")
    state = {"key": key(), "sku": "TEA", "qty": "3", "lot": "L1"}
    r = await client.post("/floor/receive", data={**state, "code": tea_scan("L2")})
    assert r.status_code == 422 and "Finish or clear TEA lot L1" in r.text


async def test_a_staging_location_is_not_a_bin_on_the_floor(client):
    await warehouse()
    await sign_in(client, "receiver")
    r = await client.post("/floor/move", data={"key": key(), "code": "WH1-STAGE"})
    assert r.status_code == 422 and "not a bin" in r.text


async def test_putaway_from_a_place_outside_any_warehouse_is_refused_not_a_server_error(client):
    await warehouse()
    await item("MUG")
    await sign_in(client, "receiver")
    r = await client.post("/floor/putaway", data={"key": key(), "from_bin": "IN-TRANSIT", "code": "MUG"})
    assert r.status_code == 422 and "in no warehouse" in r.text
