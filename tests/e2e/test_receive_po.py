"""Receiving against a purchase order on the handheld at 360×640, driven like a wedge scanner: the PO
number selects the order (supplier and lines still expected on screen), an item not on it is refused
with words a receiver understands, and the receipt — sent by the outbox — moves the order's status."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, own
from tests.e2e.purchasing_seed import run
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.trust_support import answered, buzzes, record_feedback


def _order(server: Server, name: str, lines: dict[str, int]) -> dict[str, Any]:
    return run(server, "order", {"supplier": f"S{name}", "lines": lines})


def test_receive_against_a_po_by_wedge_scans(handheld: Page, server: Server) -> None:
    mine = own(server, "PO", Item(barcodes=True), Item(barcodes=True), Item(barcodes=True))
    mug, cup, stray = mine.items
    dock = mine.bins[0]
    po = _order(server, mine.zone, {mug.sku: 3, cup.sku: 24})
    record_feedback(handheld)
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    expect(handheld.locator("#scan")).to_be_focused()

    before = buzzes(handheld)
    wedge(handheld, po["number"])
    answered(handheld, "ok", f"{po['number']} from Supplier S{mine.zone}: 27 unit(s) expected.", after=before)
    panel = handheld.locator("#po-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(f'[data-sku="{mug.sku}"] .po-open')).to_have_text("3")
    expect(panel.locator(f'[data-sku="{cup.sku}"] .po-open')).to_have_text("24")
    expect(handheld.locator("#doc_ref")).to_have_value(po["number"])
    screenshot(handheld, "receive-po")
    assert serious_violations(handheld) == []
    handheld.locator("#scan").focus()

    before = buzzes(handheld)
    wedge(handheld, stray.gtin)  # not on the order
    answered(handheld, "error", f"{stray.sku} is not on {po['number']}", after=before)
    expect(handheld.locator("#scan")).to_be_focused()

    for _ in range(2):
        wedge(handheld, mug.gtin)
    expect(handheld.locator("#qty")).to_have_value("2")
    before = buzzes(handheld)
    wedge(handheld, dock)
    answered(handheld, "ok", f"Received 2 {mug.sku} into {dock}", after=before)
    # The order stays selected for the next item; the line now expects 1 more.
    expect(handheld.locator("#doc_ref")).to_have_value(po["number"])
    expect(panel.locator(f'[data-sku="{mug.sku}"] .po-open')).to_have_text("1")

    wedge(handheld, cup.case_gtin)  # one case of 24: the whole line
    expect(handheld.locator("#qty")).to_have_value("24")
    wedge(handheld, dock)
    expect(feedback(handheld)).to_contain_text(f"Received 24 {cup.sku} into {dock}")
    drained(handheld)
    expect(panel.locator(f'[data-sku="{cup.sku}"]')).to_have_count(0)  # nothing more expected of it
    assert server.on_hand(mug.sku, dock) == 2 and server.on_hand(cup.sku, dock) == 24
    read = run(server, "read", {"id": po["id"]})
    assert read == {"status": "partially_received", "lines": {mug.sku: [3, 2], cup.sku: [24, 24]}}
    assert_check_clean(server)


def test_a_manager_sees_the_order_on_the_tablet_and_cancelling_asks_first(tablet: Page, server: Server) -> None:
    mine = own(server, "PT", Item())
    po = _order(server, mine.zone, {mine.sku: 12})
    number = po["number"]
    sign_in(tablet, "manager")
    tablet.goto("/tablet/purchase-orders?status=sent")
    row = tablet.locator(f'tr[data-po="{number}"]')
    expect(row).to_contain_text(f"S{mine.zone}")
    row.get_by_role("link", name=number).click()
    expect(tablet.locator("h1 [data-po-status]")).to_have_attribute("data-po-status", "sent")
    expect(tablet.locator(f'#po-lines tr[data-sku="{mine.sku}"] [data-open]')).to_have_text("12")
    assert serious_violations(tablet) == []
    tablet.get_by_role("button", name="Cancel order…").click()
    expect(feedback(tablet)).to_contain_text(f"Cancel {number}?")
    expect(tablet.locator("h1 [data-po-status]")).to_have_attribute("data-po-status", "sent")  # asked, not done
    tablet.locator("#po-reason").fill("supplier out of stock")
    tablet.get_by_role("button", name=f"Yes, cancel {number}").click()
    expect(feedback(tablet)).to_contain_text(f"{number} cancelled.")
    expect(tablet.locator("h1 [data-po-status]")).to_have_attribute("data-po-status", "cancelled")
    screenshot(tablet, "tablet-purchase-order")
    assert run(server, "read", {"id": po["id"]})["status"] == "cancelled"
