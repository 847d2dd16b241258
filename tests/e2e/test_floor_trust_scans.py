"""A wedge scanner types the code and Enter into whatever has focus: a scan is recognised there, handled
as a scan, and the field it landed in keeps what it held. Every scan is answered, seen, heard and felt."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import feedback, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, own
from tests.e2e.trust_support import answered, buzzes, person_types, record_feedback


def test_a_scan_into_the_damaged_field_is_a_scan_and_the_field_keeps_its_value(handheld, server):
    mine = own(server, "TSD", Item(barcodes=True))
    item, bin_code = mine.item, mine.bins[0]
    record_feedback(handheld)
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.gtin)
    wedge(handheld, item.gtin)
    wedge(handheld, item.gtin)
    expect(handheld.locator("#qty")).to_have_value("3")
    person_types(handheld, "#damaged", "1")
    before = buzzes(handheld)
    wedge(handheld, item.gtin)  # focus is still in "Of which damaged"
    answered(handheld, "ok", f"{item.sku} × 4", after=before)
    expect(handheld.locator("#qty")).to_have_value("4")
    expect(handheld.locator("#damaged")).to_have_value("1")
    handheld.locator("#damaged").tap()
    before = buzzes(handheld)
    wedge(handheld, bin_code)
    answered(handheld, "ok", f"Received 4 {item.sku} into {bin_code} (1 damaged)", after=before)
    [stock] = server.api("/stock", sku=item.sku, location=bin_code)["items"]
    assert (stock["on_hand"], stock["damaged"]) == (4, 1)
    drained(handheld)
    assert_check_clean(server)


def test_a_scan_while_a_radio_has_focus_is_a_scan(handheld, server):
    mine = own(server, "TSR", Item(stock={2: 1}, barcodes=True))
    item, (dock, _, fullest, other) = mine.item, mine.bins
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.gtin)
    wedge(handheld, dock)
    expect(feedback(handheld)).to_contain_text(f"Received 1 {item.sku} into {dock}")
    handheld.goto("/floor/putaway")
    wedge(handheld, dock)
    wedge(handheld, item.gtin)
    wedge(handheld, other)
    expect(feedback(handheld)).to_contain_text("not the suggested bin")
    handheld.get_by_label("consolidating").tap()
    expect(handheld.get_by_label("consolidating")).to_be_focused()
    wedge(handheld, fullest)  # the scanner types into the radio: it is the suggested bin after all
    expect(feedback(handheld)).to_have_text(f"Put away 1 {item.sku} in {fullest}")
    drained(handheld)
    assert (server.on_hand(item.sku, dock), server.on_hand(item.sku, fullest)) == (0, 2)
    assert_check_clean(server)


def test_enter_in_the_quantity_field_is_no_error(handheld, server):
    mine = own(server, "TSQ", Item(stock={0: 5}))
    sku, bin_code = mine.sku, mine.bins[0]
    record_feedback(handheld)
    sign_in(handheld, "picker")
    handheld.goto("/floor/move")
    wedge(handheld, bin_code)
    wedge(handheld, sku)
    person_types(handheld, "#qty", "3")
    before = buzzes(handheld)
    handheld.keyboard.press("Enter")
    answered(handheld, "ok", f"{sku} × 3. Scan the destination bin.", after=before)
    expect(handheld.locator("#scan")).to_be_focused()


def test_an_unknown_code_is_called_unknown_wherever_it_is_scanned(handheld, server):
    mine = own(server, "TSU", Item(stock={0: 5}))
    record_feedback(handheld)
    sign_in(handheld, "picker")
    handheld.goto("/floor/move")
    before = buzzes(handheld)
    wedge(handheld, "NO-SUCH-CODE-1")
    answered(handheld, "error", "Code NO-SUCH-CODE-1 is not known", after=before)
    before = buzzes(handheld)
    wedge(handheld, mine.bins[0])
    answered(handheld, "ok", after=before)  # the bin's own answer, before counting the next scan's
    before = buzzes(handheld)
    wedge(handheld, "NO-SUCH-CODE-2")
    answered(handheld, "error", "Code NO-SUCH-CODE-2 is not known", after=before)


def test_a_scan_into_the_pick_quantity_picks_and_leaves_the_quantity_alone(handheld, server):
    mine = own(server, "TSP", Item(stock={0: 5}, barcodes=True), pick_qty=3)
    item = mine.item
    record_feedback(handheld)
    sign_in(handheld, "picker")
    handheld.goto(f"/floor/pick/{mine.pick['pick_list_id']}")
    wedge(handheld, mine.pick["bin"])
    handheld.locator("#qty").tap()
    expect(handheld.locator("#qty")).to_be_focused()
    before = buzzes(handheld)
    wedge(handheld, item.gtin)  # the scanner types into "Quantity per scan"
    answered(handheld, "ok", f"Picked 1 of 3 {item.sku}, 2 to go", after=before)
    expect(handheld.locator("#qty")).to_have_value("1")
    drained(handheld)
    assert server.on_hand(item.sku, "WH1-STAGE") >= 1
    assert_check_clean(server)


def test_undo_takes_back_the_last_scan_and_cancel_drops_the_tally(handheld, server):
    mine = own(server, "TSN", Item(stock={0: 5}))
    sku, (source, target) = mine.sku, mine.bins[:2]
    sign_in(handheld, "picker")
    handheld.goto("/floor/move")
    wedge(handheld, source)
    wedge(handheld, sku)
    wedge(handheld, sku)
    expect(handheld.locator("#qty")).to_have_value("2")
    handheld.get_by_role("button", name="Undo last scan").tap()
    expect(feedback(handheld)).to_have_text("Took back the last scan.")
    expect(handheld.locator("#qty")).to_have_value("1")
    handheld.get_by_role("button", name="Undo last scan").tap()
    expect(handheld.locator("#qty")).to_have_count(0)  # back to "scan the item"
    expect(handheld.locator("#prompt")).to_have_text("Scan the item")
    wedge(handheld, sku)
    handheld.get_by_role("button", name="Cancel").tap()
    expect(feedback(handheld)).to_have_text("Cancelled: nothing was moved.")
    expect(handheld.locator("#prompt")).to_have_text("Scan the bin to take from")
    wedge(handheld, source)
    wedge(handheld, sku)
    wedge(handheld, target)
    expect(feedback(handheld)).to_have_text(f"Moved 1 {sku} {source} → {target}")
    drained(handheld)
    assert (server.on_hand(sku, source), server.on_hand(sku, target)) == (4, 1)
