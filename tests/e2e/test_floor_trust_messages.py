"""Messages that say what happened, and quantities a person would question, all scanned as a wedge does."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import feedback, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, own
from tests.e2e.trust_support import answered, buzzes, person_types, record_feedback

STAGING = "WH1-STAGE"


def test_a_scan_on_the_pick_list_menu_opens_its_list_or_says_there_is_none(handheld, server):
    mine = own(server, "TMP", Item(stock={0: 5}), pick_qty=1)
    pick_list = mine.pick["pick_list_id"]
    record_feedback(handheld)
    sign_in(handheld, "picker")
    handheld.goto("/floor/pick")
    wedge(handheld, mine.pick["bin"])
    handheld.wait_for_url(f"**/floor/pick/{pick_list}")
    expect(handheld.locator(".pick-bin strong")).to_have_text(mine.pick["bin"])
    handheld.goto("/floor/pick")
    wedge(handheld, f"so-{mine.sku.lower()}")  # the order number, as typed on a keypad
    handheld.wait_for_url(f"**/floor/pick/{pick_list}")
    handheld.goto("/floor/pick")
    before = buzzes(handheld)
    wedge(handheld, mine.bins[3])
    answered(handheld, "warn", f"No open pick list has a line to pick in {mine.bins[3]}.", after=before)
    before = buzzes(handheld)
    wedge(handheld, "NOPE-PL-1")
    answered(handheld, "error", "Code NOPE-PL-1 is not known", after=before)
    expect(handheld).to_have_url(re.compile(r"/floor/pick$"))


def test_a_case_larger_than_the_line_says_nothing_was_picked_and_enter_in_the_quantity_is_no_error(handheld, server):
    mine = own(server, "TMC", Item(stock={0: 30}, barcodes=True), pick_qty=3)
    item = mine.item
    record_feedback(handheld)
    sign_in(handheld, "picker")
    handheld.goto(f"/floor/pick/{mine.pick['pick_list_id']}")
    wedge(handheld, mine.pick["bin"])
    before = buzzes(handheld)
    wedge(handheld, item.case_gtin)  # a case of 24 for a line of 3
    answered(handheld, "error", f"Too many: line 1 needs 3 more {item.sku}, that scan is 24 (a pack of 24). "
                                "Nothing was picked", after=before)
    expect(feedback(handheld)).not_to_contain_text("back")
    expect(handheld.locator(".pick-qty")).to_contain_text("(0 of 3 done)")
    person_types(handheld, "#qty", "3")
    before = buzzes(handheld)
    handheld.keyboard.press("Enter")
    answered(handheld, "ok", f"3 per scan. Scan {item.sku} to pick.", after=before)
    wedge(handheld, item.gtin)
    expect(feedback(handheld)).to_contain_text(f"Picked 3 of 3 {item.sku}")
    drained(handheld)
    assert_check_clean(server)


def test_put_away_takes_the_staging_location_and_lookup_heads_its_rows(handheld, server):
    mine = own(server, "TMS", Item(stock={0: 5}), pick_qty=2)
    sku = mine.sku
    sign_in(handheld, "lead")
    handheld.goto(f"/floor/pick/{mine.pick['pick_list_id']}")
    wedge(handheld, mine.pick["bin"])
    person_types(handheld, "#qty", "2")
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text(f"Picked 2 of 2 {sku}")
    drained(handheld)

    handheld.goto("/floor/lookup")
    wedge(handheld, sku)
    expect(handheld.locator("#available")).to_have_text("3")  # 3 in the bin; the 2 picked wait in staging
    staging = handheld.get_by_role("row", name=re.compile(f"^{STAGING} "))
    expect(staging.locator("td").nth(2)).to_have_text("—")
    cells = handheld.locator("table.stock tbody tr td:nth-child(3)").all_inner_texts()
    assert sum(int(c) for c in cells if c.strip().isdigit()) == 3

    handheld.goto("/floor/putaway")
    expect(handheld.locator("#prompt")).to_have_text("Scan where the stock is now: dock, tote or staging")
    wedge(handheld, STAGING)
    expect(feedback(handheld)).to_have_text(f"From {STAGING}. Scan the item.")
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text(f"{sku} × 1.")
    handheld.get_by_role("button", name="Cancel").tap()
    expect(feedback(handheld)).to_have_text("Cancelled: nothing was put away.")
    assert server.on_hand(sku, STAGING) == 2


def test_a_lot_tracked_item_scanned_by_its_plain_barcode_asks_for_its_lot(handheld, server):
    mine = own(server, "TML", Item(barcodes=True, lot_tracked=True))
    item, bin_code = mine.item, mine.bins[0]
    record_feedback(handheld)
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.gtin)
    expect(feedback(handheld)).to_have_text(f"{item.sku} × 1. Scan or type its lot.")
    expect(handheld.locator("#prompt")).to_have_text(f"Scan or type the lot of {item.sku}")
    before = buzzes(handheld)
    wedge(handheld, bin_code)  # the bin before the lot: answered, not swallowed
    answered(handheld, "error", f"{item.sku} needs its lot: scan or type it first, then scan the bin.", after=before)
    wedge(handheld, "L-77")
    expect(feedback(handheld)).to_have_text(f"Lot L-77 for {item.sku}. Scan the bin.")
    expect(handheld.locator("#lot")).to_have_value("L-77")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_have_text(f"Received 1 {item.sku} into {bin_code}")
    drained(handheld)
    [stock] = server.api("/stock", sku=item.sku, location=bin_code)["items"]
    assert (stock["lot"], stock["on_hand"]) == ("L-77", 1)
    assert_check_clean(server)


def test_a_huge_quantity_is_refused_and_a_large_one_wants_the_bin_scanned_twice(handheld, server):
    mine = own(server, "TMQ", Item(barcodes=True))
    item, bin_code = mine.item, mine.bins[0]
    record_feedback(handheld)
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.gtin)
    person_types(handheld, "#qty", "100000000")
    before = buzzes(handheld)
    wedge(handheld, bin_code)
    answered(handheld, "error", f"100,000,000 {item.sku} is more than 100,000, the most one line may be.",
             after=before)
    person_types(handheld, "#qty", "5000")
    before = buzzes(handheld)
    wedge(handheld, bin_code)
    answered(handheld, "warn", f"Receive 5,000 {item.sku}? Check the quantity, then scan {bin_code} again to "
                               "receive.", after=before)
    assert server.on_hand(item.sku, bin_code) == 0
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_have_text(f"Received 5000 {item.sku} into {bin_code}")
    drained(handheld)
    assert server.on_hand(item.sku, bin_code) == 5000
    assert_check_clean(server)
