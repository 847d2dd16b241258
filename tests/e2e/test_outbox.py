"""The handheld's outbox at 360×640: scans kept on the device until the server gives each a final
answer, whatever the network does; the ledger is read back through the server's API."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.outbox_support import (
    BADGE,
    assert_check_clean,
    counts,
    drained,
    enqueue,
    listen,
    requeue_changed,
    results,
    skip_seq_numbers,
    sync_movements,
    txn_of,
)
from tests.e2e.own import Item, own


def test_scans_queued_offline_survive_a_reload_and_are_sent_once_back_online(handheld, server):
    mine = own(server, "OBOFF", Item(stock={0: 6}))
    sku, (b1, b2, b3, _) = mine.sku, mine.bins
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    handheld.evaluate("async () => { await navigator.serviceWorker.ready; }")
    handheld.reload()  # controlled by the service worker now: it keeps a copy of this screen
    expect(handheld.locator(BADGE)).to_be_hidden()
    handheld.context.set_offline(True)
    try:
        enqueue(handheld, "move", sku=sku, qty=2, from_location=b1, to_location=b2)
        enqueue(handheld, "receive", sku=sku, qty=3, to_location=b3)
        expect(handheld.locator(BADGE)).to_have_text("2 unsent")
        handheld.reload()  # from the service worker: no network
        expect(handheld.locator(BADGE)).to_have_text("2 unsent")
        screenshot(handheld, "outbox-offline")
        assert counts(handheld) == {"pending": 2, "rejected": 0}
        assert (server.on_hand(sku, b2), server.on_hand(sku, b3)) == (0, 0)
    finally:
        handheld.context.set_offline(False)
    drained(handheld)
    assert [server.on_hand(sku, b) for b in (b1, b2, b3)] == [4, 2, 3]
    assert len(sync_movements(server, sku)) == 2


def test_a_response_cut_off_after_the_server_committed_is_retried_and_answered_as_duplicate(handheld, server):
    mine = own(server, "OBCUT", Item(stock={0: 5}))
    sku, (b1, b2) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    sent: list[int] = []  # envelopes in each request (an empty one reports the outbox's counts)

    def cut_off(route: Route) -> None:
        sent.append(len(route.request.post_data_json["envelopes"]))
        if len(sent) == 1:
            route.fetch()  # the server applies the batch and answers ...
            route.abort("connectionreset")  # ... but the answer never reaches the handheld
        else:
            route.continue_()

    handheld.route("**/sync/txns", cut_off)
    listen(handheld)
    envelope = enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
    drained(handheld)
    assert [n for n in sent if n] == [1, 1]
    [answer] = results(handheld)
    assert answer["envelope"]["txn_id"] == envelope["txn_id"]
    assert (answer["result"]["status"], answer["result"]["original_status"]) == ("duplicate", "applied")
    assert [txn_of(m) for m in sync_movements(server, sku)] == [envelope["txn_id"]]
    assert (server.on_hand(sku, b1), server.on_hand(sku, b2)) == (4, 1)


def test_server_errors_keep_the_scan_until_the_server_recovers(handheld, server):
    mine = own(server, "OBERR", Item(stock={0: 5}))
    sku, b2 = mine.sku, mine.bins[1]
    sign_in(handheld, "receiver")
    calls: list[int] = []

    def fail_twice(route: Route) -> None:
        calls.append(len(route.request.post_data_json["envelopes"]))
        if len(calls) <= 2:
            route.fulfill(status=500, json={"error": {"code": "internal_error", "message": "Something went wrong."}})
        else:
            route.continue_()

    handheld.route("**/sync/txns", fail_twice)
    listen(handheld)
    enqueue(handheld, "receive", sku=sku, qty=4, to_location=b2)
    expect(handheld.locator(BADGE)).to_have_text("1 unsent")
    drained(handheld)
    assert [n for n in calls if n] == [1, 1, 1]
    assert [r["result"]["status"] for r in results(handheld)] == ["applied"]
    assert server.on_hand(sku, b2) == 4 and len(sync_movements(server, sku)) == 1


def reported(tablet, device_id: str) -> tuple[str, str]:
    """(unsent, not accepted) as the managers' device view shows what the scanner last reported."""
    tablet.goto("/tablet/devices")
    cells = tablet.locator("#sync-devices tr", has_text=device_id).locator("td")
    return cells.nth(3).inner_text(), cells.nth(4).inner_text()


def test_the_same_scan_id_with_changed_details_is_refused_and_shown_until_acknowledged(handheld, tablet, server):
    mine = own(server, "OBREUSE", Item(stock={0: 5}))
    sku, (b1, b2) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    envelope = enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
    drained(handheld)
    requeue_changed(handheld, envelope, qty=3)
    with handheld.expect_response(lambda r: r.url.endswith("/sync/txns") and r.request.post_data_json["envelopes"]
                                  ) as refused:
        handheld.evaluate("Stockline.outbox.drain()")  # the refusal, then a report of what is left
    assert refused.value.status == 422
    expect(handheld.locator(BADGE)).to_have_text("1 not accepted")
    [row] = handheld.evaluate("Stockline.outbox.rejected()")
    assert row["txn_id"] == envelope["txn_id"] and "different details" in row["reason"]
    assert (server.on_hand(sku, b1), server.on_hand(sku, b2)) == (4, 1)
    handheld.locator(BADGE).tap()
    dialog = handheld.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Moved 3 {sku} {b1} → {b2}")
    expect(dialog).to_contain_text("different details")
    screenshot(handheld, "outbox-rejected")
    sign_in(tablet, "manager")
    assert reported(tablet, envelope["device_id"]) == ("0", "1")
    with handheld.expect_response(lambda r: r.url.endswith("/sync/txns") and r.request.post_data_json["failed"] == 0):
        dialog.get_by_role("button", name="OK, got it").tap()
    expect(handheld.locator(BADGE)).to_be_hidden()
    dialog.get_by_role("button", name="Close").tap()
    assert counts(handheld) == {"pending": 0, "rejected": 0}
    assert reported(tablet, envelope["device_id"]) == ("0", "0")
    assert len(sync_movements(server, sku)) == 1


def test_a_gap_in_the_scan_numbers_is_flagged_to_managers(handheld, tablet, server):
    mine = own(server, "OBGAP", Item(stock={0: 5}))
    sku, (b1, b2, b3) = mine.sku, mine.bins[:3]
    sign_in(handheld, "receiver")
    first = enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b2)
    drained(handheld)
    skip_seq_numbers(handheld, 2)
    later = enqueue(handheld, "move", sku=sku, qty=1, from_location=b1, to_location=b3)
    drained(handheld)
    assert later["seq"] == first["seq"] + 3
    cookies = {c["name"]: c["value"] for c in handheld.context.cookies()}
    assert cookies["stockline_device"] == first["device_id"]  # the session was signed in on this device id
    sign_in(tablet, "manager")
    tablet.goto("/tablet/devices")
    gap = tablet.locator("#sync-gaps tr", has_text=first["device_id"])
    expect(gap).to_contain_text(f"{first['seq'] + 1}–{first['seq'] + 2}")
    device = tablet.locator("#sync-devices tr", has_text=first["device_id"])
    expect(device).to_contain_text("B-RECV")
    screenshot(tablet, "tablet-devices-gap")
    assert server.on_hand(sku, b3) == 1  # later scans still apply
    assert_check_clean(server)
