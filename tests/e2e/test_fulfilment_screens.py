"""A lead creates an order on the tablet; a picker picks it at 360×640; it is packed and shipped."""

from __future__ import annotations

import itertools
import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import feedback, screenshot, sign_in, wedge

_orders = itertools.count(1)


def create_order(tablet: Page, lines: str) -> str:
    ref = f"SO-E2E-{next(_orders)}"
    sign_in(tablet, "lead")
    tablet.goto("/tablet/orders")
    tablet.get_by_label("Order number").fill(ref)
    tablet.get_by_label("Lines").fill(lines)
    tablet.get_by_role("button", name="Reserve and create pick list").click()
    expect(feedback(tablet)).to_contain_text(f"Order {ref} reserved")
    screenshot(tablet, "tablet-orders")
    return ref


def open_pick_list(page: Page) -> None:
    page.goto("/floor/pick")
    page.locator("nav.menu a").last.tap()


def test_pick_blocks_wrong_bin_and_wrong_item_then_picks(tablet, handheld, server):
    create_order(tablet, "LAMP 1")
    sign_in(handheld, "picker")
    open_pick_list(handheld)
    expect(handheld.locator(".pick-bin")).to_contain_text("B-0")
    bin_code = handheld.locator(".pick-bin strong").inner_text()
    wedge(handheld, "A-04")
    expect(feedback(handheld)).to_contain_text(f"Wrong bin: go to {bin_code}")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"{bin_code} OK")
    wedge(handheld, "MUG")
    expect(feedback(handheld)).to_contain_text("Wrong item")
    screenshot(handheld, "pick-wrong-item")
    stage_before = server.on_hand("LAMP", "WH1-STAGE")
    wedge(handheld, "LAMP")
    expect(feedback(handheld)).to_contain_text("Pick list done")
    assert server.on_hand("LAMP", "WH1-STAGE") == stage_before + 1


def test_short_pick_is_recorded_for_a_lead(tablet, handheld):
    create_order(tablet, "MUG 2")
    sign_in(handheld, "picker")
    open_pick_list(handheld)
    handheld.get_by_text("Short pick…").tap()
    handheld.get_by_label("empty bin").check()
    handheld.get_by_role("button", name="Record short pick").tap()
    expect(feedback(handheld)).to_contain_text("Short pick of MUG recorded")
    sign_in(tablet, "lead")
    tablet.goto("/tablet/approvals")
    expect(tablet.get_by_role("cell", name="empty bin").first).to_be_visible()


def test_pack_finish_documents_and_ship(tablet, handheld, server):
    ref = create_order(tablet, "LAMP 1")
    sign_in(handheld, "picker")
    open_pick_list(handheld)
    wedge(handheld, handheld.locator(".pick-bin strong").inner_text())
    wedge(handheld, "LAMP")
    expect(feedback(handheld)).to_contain_text("done")
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    expect(feedback(handheld)).to_contain_text("Carton CTN-")
    wedge(handheld, "MUG")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")  # not in this order
    wedge(handheld, "LAMP")
    expect(feedback(handheld)).to_contain_text("Packed into")
    handheld.get_by_role("button", name="Finish carton").tap()
    expect(feedback(handheld)).to_contain_text("closed")
    screenshot(handheld, "pack-finished")
    carton = re.search(r"CTN-\d+", handheld.locator("h2").inner_text()).group(0)
    cookies = {c["name"]: c["value"] for c in handheld.context.cookies()}
    slip = httpx.get(server.url + handheld.get_by_role("link", name="Packing slip").get_attribute("href"),
                     cookies=cookies)
    assert slip.content.startswith(b"%PDF") and carton.encode() in slip.content
    zpl = httpx.get(server.url + handheld.get_by_role("link", name="Label ZPL").get_attribute("href"), cookies=cookies)
    assert "^BC" in zpl.text and carton in zpl.text
    shipped_before = server.api("/movements", reason="shipment")["items"]
    handheld.goto("/floor/ship")
    wedge(handheld, carton)
    handheld.get_by_label("Carrier", exact=True).select_option("DHL")
    handheld.locator("#scan").focus()
    wedge(handheld, "JD014600003828")
    expect(feedback(handheld)).to_contain_text(f"Shipped {carton} with DHL")
    screenshot(handheld, "ship")
    shipped = server.api("/movements", reason="shipment", doc_ref=ref)["items"]
    assert len(shipped) == 1 and shipped[0]["to_location"] == "CUSTOMER" and shipped_before is not None
