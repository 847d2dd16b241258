"""A scan is posted only as the handheld and the person that made it (through the real app).

Two handhelds, A and B, share one server. The manager once signed in on A; a picker is signed in on B
and forges what A's outbox would send. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from backend import db
from backend.http.app import create_app
from tests.factories import item, receive, warehouse
from tests.sync_support import csrf_client, device_of, on_hand, sign_in, table_count

B1, B2 = "WH1-B1", "WH1-B2"


@pytest.fixture
async def handhelds(ledger_db) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    app = create_app(ledger_db, run_jobs=False)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(csrf_client(app))
        b = await stack.enter_async_context(csrf_client(app))
        await warehouse()
        await item("MUG")
        await receive("MUG", 10, B1)
        yield a, b


def batch(device_id: str, *envelopes: dict) -> dict:
    return {"device_id": device_id, "envelopes": list(envelopes)}


async def test_a_batch_naming_another_handheld_is_refused_whole_and_the_real_scans_still_apply(handhelds):
    a, b = handhelds
    manager = await sign_in(a, "manager")
    picker = await sign_in(b, "picker")
    on_a, on_b = device_of(a), device_of(b)
    assert on_a.device_id != on_b.device_id
    forged = [on_a.scan(manager, "adjust", sku="MUG", location=B1, delta=-3, reason="damaged"),
              on_a.scan(manager, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)]
    r = await b.post("/sync/txns", json=batch(on_a.device_id, *forged))
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_mismatch"
    assert await table_count("sync_inbox") == 0 and await on_hand("MUG", B1) == 10
    # The manager's real scans on A carry the numbers the forgery tried to use up: all of them apply.
    real = device_of(a)
    scans = [real.scan(manager, "adjust", sku="MUG", location=B1, delta=-1, reason="damaged"),
             real.scan(manager, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)]
    assert [s["seq"] for s in scans] == [s["seq"] for s in forged]
    results = (await a.post("/sync/txns", json=batch(real.device_id, *scans))).json()["results"]
    assert [x["status"] for x in results] == ["applied", "applied"]
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (8, 1)
    assert picker.id not in {x["user_id"] for x in await _inbox_users()}


async def test_an_envelope_of_another_handheld_inside_ones_own_batch_is_rejected_and_takes_no_number(handhelds):
    a, b = handhelds
    manager = await sign_in(a, "manager")
    await sign_in(b, "picker")
    on_a, on_b = device_of(a), device_of(b)
    smuggled = on_a.scan(manager, "adjust", sku="MUG", location=B1, delta=-3, reason="damaged")
    [result] = (await b.post("/sync/txns", json=batch(on_b.device_id, smuggled))).json()["results"]
    assert result["status"] == "rejected" and "another scanner" in result["reason"]
    assert await on_hand("MUG", B1) == 10
    real = device_of(a).scan(manager, "adjust", sku="MUG", location=B1, delta=-1, reason="damaged")
    assert real["seq"] == smuggled["seq"]
    [applied] = (await a.post("/sync/txns", json=batch(on_a.device_id, real))).json()["results"]
    assert applied["status"] == "applied" and await on_hand("MUG", B1) == 9


async def test_a_scan_in_the_name_of_someone_who_signed_in_only_on_another_handheld_is_rejected(handhelds):
    a, b = handhelds
    manager = await sign_in(a, "manager")  # the manager signed in on A, never on B
    await sign_in(b, "picker")
    on_b = device_of(b)
    forged = on_b.scan(manager, "adjust", sku="MUG", location=B1, delta=-3, reason="damaged")
    [result] = (await b.post("/sync/txns", json=batch(on_b.device_id, forged))).json()["results"]
    assert result["status"] == "rejected" and "has not signed in on this scanner" in result["reason"]
    assert await on_hand("MUG", B1) == 10


async def test_the_role_of_the_person_on_each_envelope_is_checked_for_its_kind(handhelds):
    a, _ = handhelds
    picker = await sign_in(a, "picker")
    hh = device_of(a)
    adjust = hh.scan(picker, "adjust", sku="MUG", location=B1, delta=-3, reason="damaged")
    move = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    results = (await a.post("/sync/txns", json=batch(hh.device_id, adjust, move))).json()["results"]
    assert [x["status"] for x in results] == ["rejected", "applied"]
    assert "may not adjust stock" in results[0]["reason"]
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (9, 1)


async def test_a_device_cookie_set_by_hand_before_signing_in_does_not_make_the_session_that_device(handhelds):
    a, b = handhelds
    manager = await sign_in(a, "manager")
    victim = device_of(a).device_id
    b.cookies.set("stockline_device", victim, domain="stockline.test")
    await sign_in(b, "picker")
    assert device_of(b).device_id != victim
    forged = device_of(a).scan(manager, "adjust", sku="MUG", location=B1, delta=-3, reason="damaged")
    r = await b.post("/sync/txns", json=batch(victim, forged))
    assert r.status_code == 403 and await on_hand("MUG", B1) == 10


async def _inbox_users() -> list[dict]:
    return await db.fetch("SELECT user_id FROM sync_inbox")


async def test_a_manager_revokes_a_lost_handheld_and_its_batches_are_refused(handhelds):
    a, b = handhelds
    picker = await sign_in(a, "picker")
    lost = device_of(a)
    await sign_in(b, "lead")
    page = await b.get("/tablet/devices")
    assert lost.device_id in page.text and ">Revoke</button>" not in page.text  # a lead sees, a manager revokes
    assert (await b.post(f"/tablet/devices/{lost.device_id}/revoke")).status_code == 403
    await sign_in(b, "manager")
    r = await b.post(f"/tablet/devices/{lost.device_id}/revoke")
    assert r.status_code == 200 and f"Scanner {lost.device_id} revoked" in r.text
    scan = lost.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    r = await a.post("/sync/txns", json=batch(lost.device_id, scan))
    assert r.status_code == 401 and await on_hand("MUG", B1) == 10  # signed out: the scans stay on the handheld
    assert (await b.post("/tablet/devices/hh-nobody/revoke")).status_code == 404
