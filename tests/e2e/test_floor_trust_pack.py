"""Packing a worker can trust: one open carton per order, found again after a reload, Back or on another
handheld; the table shows this carton and what the order still needs; only picked units pack; a carton
can be emptied and cancelled. Shipping checks the carton at its scan and can be cancelled at every step."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import HANDHELD, Server, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, Own, own
from tests.e2e.trust_support import person_types


def order_ref(mine: Own) -> str:
    return f"SO-{mine.sku}"  # tests.e2e.own names the order of its pick list so


def pick(page: Page, mine: Own, qty: int) -> None:
    """The picker picks `qty` of the line (typed as the quantity per scan, one item scan)."""
    page.goto(f"/floor/pick/{mine.pick['pick_list_id']}")
    wedge(page, mine.pick["bin"])
    expect(feedback(page)).to_contain_text(f"{mine.pick['bin']} OK")
    person_types(page, "#qty", str(qty))
    wedge(page, mine.sku)
    expect(feedback(page)).to_contain_text(f"Picked {qty} of")
    drained(page)


def carton_code(page: Page) -> str:
    return page.locator("#carton").get_attribute("data-code")


def in_carton(page: Page):
    return page.locator("#pack-summary")


def test_the_open_carton_is_found_again_after_reload_back_and_on_another_handheld(handheld, browser: Browser,
                                                                                     server: Server):
    mine = own(server, "TPR", Item(stock={0: 10}), pick_qty=6)
    ref = order_ref(mine)
    sign_in(handheld, "picker")
    pick(handheld, mine, 6)
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    expect(feedback(handheld)).to_contain_text(f"for {ref}")
    code = carton_code(handheld)
    wedge(handheld, mine.sku)
    wedge(handheld, mine.sku)
    expect(in_carton(handheld)).to_contain_text("In this carton: 2 · To pack: 4")
    wedge(handheld, ref)  # the order again, while its carton is open: not an item
    expect(feedback(handheld)).to_have_text(f"Carton {code} of {ref} is open: scan its items.")
    expect(in_carton(handheld)).to_contain_text("In this carton: 2 · To pack: 4")

    handheld.reload()
    expect(handheld.locator("#carton")).to_have_attribute("data-code", code)
    expect(in_carton(handheld)).to_contain_text("In this carton: 2 · To pack: 4")
    wedge(handheld, mine.sku)
    expect(in_carton(handheld)).to_contain_text("In this carton: 3 · To pack: 3")
    screenshot(handheld, "pack-carton")

    handheld.goto("/floor")
    handheld.go_back()
    expect(handheld.locator("#carton")).to_have_attribute("data-code", code)
    handheld.goto("/floor/pack")
    expect(handheld.get_by_role("link", name=re.compile(f"{code} · {ref}"))).to_be_visible()
    wedge(handheld, ref)
    expect(feedback(handheld)).to_contain_text(f"Carton {code} for {ref} is open with 3 unit(s)")

    other = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url).new_page()
    sign_in(other, "lead")
    other.goto("/floor/pack")
    wedge(other, ref)
    expect(other.locator("#carton")).to_have_attribute("data-code", code)
    expect(in_carton(other)).to_contain_text("In this carton: 3 · To pack: 3")
    for _ in range(3):
        wedge(other, mine.sku)
    expect(in_carton(other)).to_contain_text("In this carton: 6 · To pack: 0")
    other.get_by_role("button", name="Finish carton").tap()
    expect(feedback(other)).to_contain_text(f"Carton {code} closed.")
    other.context.close()
    assert_check_clean(server)


def test_an_order_nothing_was_picked_of_opens_no_carton_and_only_picked_units_pack(handheld, server):
    mine = own(server, "TPP", Item(stock={0: 5}), pick_qty=2)
    ref = order_ref(mine)
    sign_in(handheld, "picker")
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    expect(feedback(handheld)).to_have_text(f"Nothing of order {ref} is picked yet: pick it before packing.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
    expect(handheld.locator("#carton")).to_have_count(0)
    pick(handheld, mine, 1)
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    expect(in_carton(handheld)).to_contain_text("In this carton: 0 · To pack: 1 · Not picked yet: 1")
    wedge(handheld, mine.sku)
    expect(in_carton(handheld)).to_contain_text("In this carton: 1 · To pack: 0 · Not picked yet: 1")
    wedge(handheld, mine.sku)  # the second unit was never picked
    expect(feedback(handheld)).to_contain_text(f"Only 0 {mine.sku} picked and not packed yet")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
    expect(in_carton(handheld)).to_contain_text("In this carton: 1")


def test_undo_takes_the_last_scan_out_and_an_empty_carton_can_be_cancelled(handheld, server):
    mine = own(server, "TPC", Item(stock={0: 5}), pick_qty=2)
    ref = order_ref(mine)
    sign_in(handheld, "picker")
    pick(handheld, mine, 2)
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    code = carton_code(handheld)
    wedge(handheld, mine.sku)
    expect(in_carton(handheld)).to_contain_text("In this carton: 1 · To pack: 1")
    handheld.get_by_role("button", name="Undo last scan").tap()
    expect(feedback(handheld)).to_have_text(f"Took 1 back out of {code}: put it aside.")
    expect(in_carton(handheld)).to_contain_text("In this carton: 0 · To pack: 2")
    handheld.get_by_role("button", name="Finish carton").tap()  # empty: it cannot be finished
    expect(feedback(handheld)).to_contain_text("is empty")
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Cancel carton").tap()
    expect(feedback(handheld)).to_have_text(f"Carton {code} cancelled.")
    expect(handheld).to_have_url(re.compile(r"/floor/pack$"))
    wedge(handheld, ref)
    expect(feedback(handheld)).to_contain_text(f"for {ref}")
    assert carton_code(handheld) != code


def pack_all(page: Page, ref: str, sku: str, units: int) -> str:
    page.goto("/floor/pack")
    wedge(page, ref)
    expect(feedback(page)).to_contain_text(f"for {ref}")
    for _ in range(units):
        wedge(page, sku)
    expect(in_carton(page)).to_contain_text(f"In this carton: {units}")
    code = carton_code(page)
    page.get_by_role("button", name="Finish carton").tap()
    expect(feedback(page)).to_contain_text(f"Carton {code} closed.")
    return code


def test_a_carton_is_checked_at_its_scan_and_shipping_can_be_cancelled_at_every_step(handheld, server):
    mine = own(server, "TPS", Item(stock={0: 5}), pick_qty=3)
    ref, sku = order_ref(mine), mine.sku
    sign_in(handheld, "picker")
    pick(handheld, mine, 3)
    first = pack_all(handheld, ref, sku, 1)
    handheld.goto("/floor/ship")
    wedge(handheld, first)  # 2 picked units are in no carton yet: refused now, not after the tracking number
    expect(feedback(handheld)).to_have_text(f"2 unit(s) of order {ref} are picked but in no carton: pack them "
                                            "before shipping.")
    expect(handheld.locator("#carrier")).to_have_count(0)
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    second = carton_code(handheld)
    handheld.goto("/floor/ship")
    wedge(handheld, second)
    expect(feedback(handheld)).to_have_text(f"Carton {second} is not finished. Finish packing it before shipping.")
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    wedge(handheld, sku)
    wedge(handheld, sku)
    expect(in_carton(handheld)).to_contain_text("In this carton: 2 · To pack: 0")
    handheld.get_by_role("button", name="Finish carton").tap()
    expect(feedback(handheld)).to_contain_text("closed")

    handheld.goto("/floor/ship")
    wedge(handheld, first)
    expect(feedback(handheld)).to_contain_text(f"Carton {first} ({ref}, 1 unit(s))")
    handheld.get_by_role("button", name="Cancel").tap()
    expect(feedback(handheld)).to_have_text("Cancelled: nothing was shipped.")
    expect(handheld.locator("#carrier")).to_have_count(0)
    wedge(handheld, first)
    handheld.locator("#carrier").select_option("DHL")  # focus stays on the carrier list
    wedge(handheld, second)  # another carton's label is no tracking number
    expect(feedback(handheld)).to_contain_text("not a tracking number")
    expect(handheld.locator("#carrier")).to_have_value("DHL")
    handheld.get_by_role("button", name="Cancel").tap()
    expect(feedback(handheld)).to_have_text("Cancelled: nothing was shipped.")
    wedge(handheld, ref)  # the whole order: both cartons
    carrier = handheld.locator("#carrier")
    carrier.focus()
    carrier.select_option("UPS")
    expect(carrier).to_be_focused()
    wedge(handheld, "GD123456789GB")  # typed into the carrier list, whose type-ahead would pick GLS
    expect(feedback(handheld)).to_have_text(f"Shipped {ref} with UPS GD123456789GB.")
    wedge(handheld, first)
    expect(feedback(handheld)).to_have_text(f"Carton {first} has already shipped.")
    shipped = server.api("/movements", reason="shipment", doc_ref=ref)["items"]
    assert sum(m["qty"] for m in shipped) == 3
    drained(handheld)
    assert_check_clean(server)
