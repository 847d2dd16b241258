"""A lead creates an order on the tablet; a picker picks it at 360×640; it is packed and shipped."""

from __future__ import annotations

import itertools
import re

import httpx
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import HANDHELD, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained, new_sku, stock, sync_movements

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
    expect(feedback(handheld)).to_have_text("Picked 1 of 1 LAMP. Pick list done. Take the tote to packing.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    expect(handheld.get_by_role("link", name="Back to pick lists")).to_be_visible()
    assert server.on_hand("LAMP", "WH1-STAGE") == stage_before + 1
    assert sync_movements(server, "LAMP")[-1]["to_location"] == "WH1-STAGE"  # posted by the outbox's envelope
    drained(handheld)
    assert_check_clean(server)


def test_each_pick_shows_what_is_left_on_the_line_once_the_server_applied_it(tablet, handheld, server):
    create_order(tablet, "MUG 2")
    sign_in(handheld, "picker")
    open_pick_list(handheld)
    wedge(handheld, handheld.locator(".pick-bin strong").inner_text())
    wedge(handheld, "MUG")
    expect(feedback(handheld)).to_have_text("Picked 1 of 2 MUG, 1 to go")
    expect(handheld.locator(".pick-qty")).to_contain_text("(1 of 2 done)")
    expect(handheld.locator(".pick-bin")).to_have_class("pick-bin done")  # same bin: scan the item again
    wedge(handheld, "MUG")
    expect(feedback(handheld)).to_contain_text("Picked 2 of 2 MUG. Pick list done")
    drained(handheld)
    assert_check_clean(server)


def short_the_line(page: Page, server_url: str) -> None:
    """Another picker shorts the open line of the pick list `page` shows, with that page's session."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    form = {"key": f"short-{next(_orders)}", "line_id": page.locator("input[name=line_id]").get_attribute("value"),
            "short_reason": "not_found", "action": "short"}
    r = httpx.post(server_url + page.locator("#flow").get_attribute("hx-post"), data=form, cookies=cookies,
                   headers={"x-csrftoken": cookies["csrftoken"], "hx-request": "true"}, timeout=10)
    assert r.status_code == 200 and "Short pick of" in r.text, r.text


def test_a_pick_the_server_does_not_apply_reloads_the_list_as_the_server_has_it(browser, server):
    """The screen shows the line as the pick will leave it (1 of 2 done); another picker shorts the line
    before the pick reaches the server, which keeps the pick for a manager: the worker hears so and the
    screen reloads the list from the server (nothing left to pick)."""
    seeded = stock(server, new_sku("PK"), 5, pick_qty=2)
    sku, pick = seeded["sku"], seeded["pick"]
    # No service worker: Chromium does not route the requests of a page a service worker controls.
    handheld = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url,
                                   service_workers="block").new_page()
    other = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url).new_page()
    for page in (handheld, other):
        sign_in(page, "picker")
        page.goto(f"/floor/pick/{pick['pick_list_id']}")
    wedge(handheld, pick["bin"])
    expect(feedback(handheld)).to_contain_text(f"{pick['bin']} OK")

    def short_first(route: Route) -> None:
        if route.request.post_data_json["envelopes"]:
            short_the_line(other, server.url)
        route.continue_()

    handheld.route("**/sync/txns", short_first)
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text("Sent — a manager will check this")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "warn")
    expect(handheld.get_by_role("link", name="Back to pick lists")).to_be_visible()
    expect(handheld.locator(".pick-card")).to_have_count(0)
    assert sync_movements(server, sku) == []  # the pick was not posted over the short
    drained(handheld)
    assert_check_clean(server)
    other.context.close()
    handheld.context.close()


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
