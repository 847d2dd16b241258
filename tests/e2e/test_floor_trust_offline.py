"""Offline, the scan answers as online: a scan into a quantity field is a scan, a second item is refused
while a tally waits, a lot-tracked item takes its lot from the next unknown code, and Cancel drops the tally."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import feedback, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, own
from tests.e2e.test_offline import offline, open_ready
from tests.e2e.trust_support import person_types


def test_offline_receive_answers_every_scan_as_online_does(handheld, server):
    mine = own(server, "TOF", Item(barcodes=True), Item(barcodes=True, lot_tracked=True))
    (plain, tracked), bin_code = mine.items, mine.bins[0]
    open_ready(handheld, "receiver", "/floor/receive")
    with offline(handheld):
        handheld.reload()
        expect(handheld.locator("#offline-status")).to_contain_text("Offline")
        wedge(handheld, plain.gtin)
        expect(feedback(handheld)).to_have_text(f"{plain.sku} × 1. Scan more, or scan the bin.")
        wedge(handheld, tracked.gtin)
        expect(feedback(handheld)).to_have_text(f"{plain.sku} × 1 is not sent yet. Finish it, or tap Cancel, "
                                                f"before scanning {tracked.sku}.")
        handheld.get_by_role("button", name="Cancel").tap()
        expect(feedback(handheld)).to_have_text("Cancelled: nothing from this task was saved.")
        wedge(handheld, tracked.gtin)
        expect(feedback(handheld)).to_have_text(f"{tracked.sku} × 1. Scan more, or scan the bin.")
        wedge(handheld, "L-OFF-9")
        expect(feedback(handheld)).to_have_text(f"Lot L-OFF-9 for {tracked.sku}. Scan the bin.")
        person_types(handheld, "#qty", "3")
        wedge(handheld, bin_code)  # focus is still in the quantity field
        expect(feedback(handheld)).to_contain_text(f"Received 3 {tracked.sku} into {bin_code} — saved, pending")
    drained(handheld)
    [stock] = server.api("/stock", sku=tracked.sku, location=bin_code)["items"]
    assert (stock["lot"], stock["on_hand"]) == ("L-OFF-9", 3)
    assert server.api("/stock", sku=plain.sku, location=bin_code)["items"] == []
    assert_check_clean(server)
