"""Several handhelds and several tabs sharing one outbox; signed-out devices keep their scans."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.outbox_support import (
    BADGE,
    assert_check_clean,
    counts,
    device,
    drained,
    enqueue,
    enqueue_many,
    listen,
    movements,
    results,
    sync_movements,
    txn_of,
)
from tests.e2e.own import Item, own


def test_two_handhelds_take_the_last_unit_offline_one_applies_one_goes_to_a_manager(browser, tablet, server):
    mine = own(server, "OBLAST", Item(stock={0: 1}))
    sku, (b1, b2, b3) = mine.sku, mine.bins[:3]
    with device(browser, server) as first, device(browser, server) as second:
        sign_in(first, "picker")
        sign_in(second, "receiver")
        for page in (first, second):
            listen(page)
            page.context.set_offline(True)
        enqueue(first, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
        enqueue(second, "move", sku=sku, qty=1, from_location=b1, to_location=b3)
        first.context.set_offline(False)
        drained(first)
        second.context.set_offline(False)
        drained(second)
        assert [r["result"]["status"] for r in results(first)] == ["applied"]
        [late] = results(second)
        assert late["result"]["status"] == "needs_review" and f"A count of {b1} was opened" in late["result"]["reason"]
        expect(second.locator("#outbox-note")).to_contain_text("Sent — a manager will check this")
        screenshot(second, "outbox-needs-review")
    assert [server.on_hand(sku, b) for b in (b1, b2, b3)] == [0, 1, 1]
    found = [m for m in movements(server, sku) if m["reason"] == "offline_conflict"]
    assert [(m["qty"], m["to_location"]) for m in found] == [(1, b1)]
    sign_in(tablet, "manager")
    tablet.goto("/tablet/devices")
    exception = tablet.locator("section.approval", has_text=late["envelope"]["txn_id"])
    expect(exception).to_contain_text("Found stock posted")
    expect(exception).to_contain_text("Count task")
    assert_check_clean(server)


def test_two_tabs_share_one_outbox_and_only_one_sends_it(handheld, server):
    mine = own(server, "OBTABS", Item(stock={0: 40}))
    sku, (b1, b2) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    other = handheld.context.new_page()
    other.goto("/floor/move")
    bodies: list[dict] = []
    for page in (handheld, other):
        page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/sync/txns") else None)
    handheld.context.set_offline(True)
    scans = enqueue_many(handheld, [("move", {"sku": sku, "qty": 1, "from_location": b1, "to_location": b2})
                                    for _ in range(30)])
    expect(other.locator(BADGE)).to_have_text("30 unsent")  # the other tab sees the same outbox
    bodies.clear()  # attempts made while offline never reached the server
    handheld.context.set_offline(False)
    handheld.evaluate("() => { Stockline.outbox.drain(); }")
    other.evaluate("() => { Stockline.outbox.drain(); }")
    drained(handheld)
    drained(other)
    sent = [e["txn_id"] for body in bodies for e in body["envelopes"]]
    assert sorted(sent) == sorted(s["txn_id"] for s in scans)  # each scan went out once, from one tab
    assert sorted(txn_of(m) for m in sync_movements(server, sku)) == sorted(s["txn_id"] for s in scans)
    assert (server.on_hand(sku, b1), server.on_hand(sku, b2)) == (10, 30)


def test_a_signed_out_handheld_keeps_its_scans_until_someone_signs_in(handheld, server):
    mine = own(server, "OBPICK", Item(stock={0: 5}), pick_qty=2)
    sign_in(handheld, "picker")
    handheld.context.set_offline(True)
    enqueue(handheld, "pick", **mine.pick)
    handheld.context.clear_cookies(name="stockline_session")
    handheld.context.set_offline(False)
    expect(handheld.locator(BADGE)).to_have_text("Sign in to send 1 saved scan", timeout=60_000)
    assert counts(handheld) == {"pending": 1, "rejected": 0}
    screenshot(handheld, "outbox-signed-out")
    sign_in(handheld, "picker")
    drained(handheld)
    [picked] = sync_movements(server, mine.sku)
    assert (picked["from_location"], picked["qty"]) == (mine.bins[0], 2)
