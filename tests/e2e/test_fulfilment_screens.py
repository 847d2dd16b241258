"""A lead creates an order on the tablet; a picker picks it at 360×640; it is packed and shipped."""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

import httpx
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import HANDHELD, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained, sync_movements
from tests.e2e.own import Item, own

_orders = itertools.count(1)


class Order(NamedTuple):
    ref: str
    pick_list_id: int


def create_order(tablet: Page, lines: str) -> Order:
    ref = f"SO-E2E-{next(_orders)}"
    sign_in(tablet, "lead")
    tablet.goto("/tablet/orders")
    tablet.get_by_label("Order number").fill(ref)
    tablet.get_by_label("Lines").fill(lines)
    tablet.get_by_role("button", name="Reserve and create pick list").click()
    expect(feedback(tablet)).to_contain_text(re.compile(rf"Order {ref} reserved; pick list #\d+\."))
    screenshot(tablet, "tablet-orders")
    return Order(ref, int(re.search(r"pick list #(\d+)", feedback(tablet).inner_text())[1]))


def open_pick_list(page: Page, order: Order) -> None:
    """The picker taps the order's pick list (other tests' lists may be open too)."""
    page.goto("/floor/pick")
    page.locator("nav.menu a", has_text=f"Pick list #{order.pick_list_id} ").tap()
    page.wait_for_url(f"**/floor/pick/{order.pick_list_id}")


def test_pick_blocks_wrong_bin_and_wrong_item_then_picks(tablet, handheld, server):
    mine = own(server, "PKW", Item(stock={1: 3}), Item(stock={0: 3}))
    (item, other), (wrong_bin, bin_code) = mine.items, mine.bins[:2]
    order = create_order(tablet, f"{item.sku} 1")
    sign_in(handheld, "picker")
    open_pick_list(handheld, order)
    expect(handheld.locator(".pick-bin strong")).to_have_text(bin_code)
    wedge(handheld, wrong_bin)
    expect(feedback(handheld)).to_contain_text(f"Wrong bin: go to {bin_code}")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"{bin_code} OK")
    wedge(handheld, other.sku)
    expect(feedback(handheld)).to_contain_text("Wrong item")
    screenshot(handheld, "pick-wrong-item")
    wedge(handheld, item.sku)
    expect(feedback(handheld)).to_have_text(f"Picked 1 of 1 {item.sku}. Pick list done. Take the tote to packing.")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    expect(handheld.get_by_role("link", name="Back to pick lists")).to_be_visible()
    assert server.on_hand(item.sku, "WH1-STAGE") == 1
    assert sync_movements(server, item.sku)[-1]["to_location"] == "WH1-STAGE"  # posted by the outbox's envelope
    drained(handheld)
    assert_check_clean(server)


def test_each_pick_shows_what_is_left_on_the_line_once_the_server_applied_it(tablet, handheld, server):
    mine = own(server, "PKL", Item(stock={0: 5}))
    sku, bin_code = mine.sku, mine.bins[0]
    order = create_order(tablet, f"{sku} 2")
    sign_in(handheld, "picker")
    open_pick_list(handheld, order)
    wedge(handheld, bin_code)
    wedge(handheld, sku)
    expect(feedback(handheld)).to_have_text(f"Picked 1 of 2 {sku}, 1 to go")
    expect(handheld.locator(".pick-qty")).to_contain_text("(1 of 2 done)")
    expect(handheld.locator(".pick-bin")).to_have_class("pick-bin done")  # same bin: scan the item again
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text(f"Picked 2 of 2 {sku}. Pick list done")
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
    mine = own(server, "PK", Item(stock={0: 5}), pick_qty=2)
    sku, pick = mine.sku, mine.pick
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


def test_short_pick_is_recorded_for_a_lead(tablet, handheld, server):
    mine = own(server, "PKS", Item(stock={0: 2}))
    sku, bin_code = mine.sku, mine.bins[0]
    order = create_order(tablet, f"{sku} 2")
    sign_in(handheld, "picker")
    open_pick_list(handheld, order)
    handheld.get_by_text("Short pick…").tap()
    handheld.get_by_label("empty bin").check()
    handheld.get_by_role("button", name="Record short pick").tap()
    expect(feedback(handheld)).to_contain_text(f"Short pick of {sku} recorded")
    sign_in(tablet, "lead")
    tablet.goto("/tablet/approvals")
    short = tablet.get_by_role("row", name=order.ref)
    expect(short).to_contain_text(sku)
    expect(short).to_contain_text(bin_code)
    expect(short.get_by_role("cell", name="empty bin")).to_be_visible()


def test_pack_finish_documents_and_ship(tablet, handheld, server):
    mine = own(server, "PCK", Item(stock={0: 3}), Item(stock={0: 3}))
    (item, other), bin_code = mine.items, mine.bins[0]
    order = create_order(tablet, f"{item.sku} 1")
    ref = order.ref
    sign_in(handheld, "picker")
    open_pick_list(handheld, order)
    wedge(handheld, bin_code)
    wedge(handheld, item.sku)
    expect(feedback(handheld)).to_contain_text("done")
    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    expect(feedback(handheld)).to_contain_text("Carton CTN-")
    wedge(handheld, other.sku)
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")  # not in this order
    wedge(handheld, item.sku)
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
    handheld.goto("/floor/ship")
    wedge(handheld, carton)
    handheld.get_by_label("Carrier", exact=True).select_option("DHL")
    handheld.locator("#scan").focus()
    wedge(handheld, "JD014600003828")
    expect(feedback(handheld)).to_contain_text(f"Shipped {carton} with DHL")
    screenshot(handheld, "ship")
    shipped = server.api("/movements", reason="shipment", doc_ref=ref)["items"]
    assert len(shipped) == 1 and shipped[0]["to_location"] == "CUSTOMER"
