"""The handheld's identity and the scans the server refuses, at 360×640 against a real server.

The server issues the handheld's device id at sign-in; the outbox names it on every scan, follows it
when the handheld is enrolled anew, and never lets one refused scan hold back the scans behind it."""

from __future__ import annotations

import json

from playwright.sync_api import Route, expect

from tests.e2e.conftest import sign_in
from tests.e2e.outbox_support import BADGE, drained, enqueue, sync_movements
from tests.e2e.own import Item, own

_PUT_OLD_IDENTITY = """async ([oldDevice, envelopes]) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open("stockline-outbox");
    open.onsuccess = () => resolve(open.result); open.onerror = () => reject(open.error);
  });
  await new Promise((resolve, reject) => {
    const t = db.transaction(["meta", "outbox"], "readwrite");
    t.oncomplete = resolve; t.onerror = () => reject(t.error);
    t.objectStore("meta").put({key: "device_id", value: oldDevice});
    t.objectStore("meta").put({key: "seq", value: envelopes.length + 40});
    envelopes.forEach((env, i) => t.objectStore("outbox").put(
      {seq: 41 + i, envelope: {...env, device_id: oldDevice, seq: 41 + i}, queued_at: Date.now()}));
  });
  db.close();
}"""


def _cookie(page, name: str) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == name)


def test_the_outbox_names_the_device_the_server_issued_at_sign_in(handheld, server):
    mine = own(server, "IDN", Item(stock={0: 3}))
    sku, (b1, b2) = mine.sku, mine.bins[:2]
    handheld.goto("/signin")
    handheld.evaluate("document.cookie = 'stockline_device=hh-made-up; path=/'")  # set by hand: ignored
    sign_in(handheld, "receiver")
    issued = _cookie(handheld, "stockline_device")
    assert issued != "hh-made-up" and len(issued) >= 35
    key = next(c for c in handheld.context.cookies() if c["name"] == "stockline_device_key")
    assert key["httpOnly"] and key["value"] != issued
    assert handheld.evaluate("document.cookie").count("stockline_device_key") == 0  # not readable by scripts
    envelope = enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
    assert envelope["device_id"] == issued
    drained(handheld)
    assert server.on_hand(sku, b2) == 1


def test_scans_waiting_under_an_earlier_identity_are_renumbered_under_the_issued_one_and_sent(handheld, server):
    mine = own(server, "OLD", Item(stock={0: 4}), bins=3)
    sku, (b1, b2, b3) = mine.sku, mine.bins[:3]
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    first = enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
    drained(handheld)
    waiting = [{**first, "txn_id": txn, "payload": {**first["payload"], "to_location": b3}}
               for txn in (f"00000000-0000-4000-8000-{n:012d}" for n in (1, 2))]
    handheld.evaluate(_PUT_OLD_IDENTITY, ["hh-before-enrolment", waiting])
    handheld.reload()
    drained(handheld)
    assert [server.on_hand(sku, b) for b in (b1, b2, b3)] == [1, 1, 2]
    assert len(sync_movements(server, sku)) == 3


def test_a_scan_the_server_refuses_goes_to_the_rejected_list_and_the_scans_behind_it_are_sent(handheld, server):
    mine = own(server, "REF", Item(stock={0: 5}))
    sku, (b1, b2) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    handheld.context.set_offline(True)
    scans = [enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
             for _ in range(3)]
    bad = scans[1]["txn_id"]
    refusals: list[int] = []

    def refuse_the_bad_one(route: Route) -> None:
        sent = route.request.post_data_json["envelopes"]
        if any(e["txn_id"] == bad for e in sent):
            refusals.append(len(sent))
            route.fulfill(status=413, content_type="application/json",
                          body=json.dumps({"error": {"code": "too_large", "message": "This scan is too large."}}))
        else:
            route.continue_()

    handheld.route("**/sync/txns", refuse_the_bad_one)
    handheld.context.set_offline(False)  # back online: the outbox drains by itself
    handheld.evaluate("Stockline.outbox.drain()")
    expect(handheld.locator("body")).to_have_attribute("data-outbox-pending", "0", timeout=30_000)
    expect(handheld.locator(BADGE)).to_have_text("1 not accepted")
    [row] = handheld.evaluate("Stockline.outbox.rejected()")
    assert row["txn_id"] == bad and "too large" in row["reason"]
    assert refusals == [3, 1]  # the batch, then the bad scan alone: never again after that
    assert server.on_hand(sku, b2) == 2
