"""Screens for gloves and for managers: every control at least 48 px high with 18 px text, the home
title said once, the storage warning only where it matters, and the tablet's orders, users and stock
search screens."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    HANDHELD,
    TABLET,
    Server,
    feedback,
    screenshot,
    sign_in,
    wedge,
)
from tests.e2e.own import Item, own

CONTROLS = ("button, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea, a.big-btn,"
            " summary, label.radio, header a")
SMALL_CONTROLS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.offsetParent !== null)
  .map((el) => ({ el, box: el.getBoundingClientRect(), font: parseFloat(getComputedStyle(el).fontSize) }))
  .filter(({ box, font }) => box.height < 47.5 || font < 17.9)
  .map(({ el, box, font }) => `${el.tagName.toLowerCase()}#${el.id || ''} "${(el.textContent || el.name || '').trim()
    .slice(0, 30)}" ${Math.round(box.height)}px/${font}px`)"""
REFUSE_PERSISTENT_STORAGE = """
StorageManager.prototype.persist = () => Promise.resolve(false);
StorageManager.prototype.persisted = () => Promise.resolve(false);
"""
GRANT_PERSISTENT_STORAGE = """
StorageManager.prototype.persist = () => { localStorage.setItem("test.granted", "1"); return Promise.resolve(true); };
StorageManager.prototype.persisted = () => Promise.resolve(localStorage.getItem("test.granted") === "1");
"""


def small_controls(page: Page) -> list[str]:
    return page.evaluate(SMALL_CONTROLS, CONTROLS)


def test_every_control_a_gloved_hand_touches_is_48px_with_18px_text(handheld, server):
    mine = own(server, "TSC", Item(stock={0: 5, 2: 1}, barcodes=True), pick_qty=1)
    item, (dock, _, _, other) = mine.item, mine.bins
    sign_in(handheld, "lead")
    seen = {}
    seen["home"] = small_controls(handheld)
    handheld.goto("/floor/receive")
    wedge(handheld, item.gtin)
    expect(handheld.locator("#qty")).to_have_value("1")
    seen["receive"] = small_controls(handheld)
    handheld.goto("/floor/putaway")
    wedge(handheld, dock)
    wedge(handheld, item.gtin)
    wedge(handheld, other)
    expect(handheld.locator(".override")).to_be_visible()
    seen["putaway override"] = small_controls(handheld)
    handheld.goto(f"/floor/pick/{mine.pick['pick_list_id']}")
    wedge(handheld, mine.pick["bin"])
    handheld.get_by_text("Short pick…").tap()
    seen["pick"] = small_controls(handheld)
    handheld.goto("/floor/adjust")
    wedge(handheld, dock)
    wedge(handheld, item.sku)
    expect(handheld.locator("#delta")).to_be_visible()
    seen["adjust"] = small_controls(handheld)
    for path in ("/floor/count", "/floor/pack", "/floor/ship", "/floor/lookup", "/floor/move"):
        handheld.goto(path)
        seen[path] = small_controls(handheld)
    assert {screen: small for screen, small in seen.items() if small} == {}


def test_the_home_screen_says_stockline_once_and_managers_find_devices(handheld, tablet):
    sign_in(handheld, "picker")
    expect(handheld).to_have_title("Stockline")
    assert handheld.locator("header").inner_text().count("Stockline") == 1
    expect(handheld.get_by_role("link", name="Devices")).to_have_count(0)
    sign_in(tablet, "manager")
    tablet.get_by_role("link", name="Devices").click()
    expect(tablet).to_have_url(re.compile(r"/tablet/devices$"))
    expect(tablet.get_by_role("heading", name="Scanners", exact=True)).to_be_visible()


def _device(browser: Browser, server: Server, script: str) -> Page:
    context = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url)
    context.add_init_script(script)
    return context.new_page()


def test_the_storage_warning_shows_only_when_storage_was_refused_to_those_who_scan_offline(browser, server):
    refused = _device(browser, server, REFUSE_PERSISTENT_STORAGE)
    sign_in(refused, "picker")
    warning = refused.locator("#outbox-storage")
    expect(warning).to_contain_text("may clear saved scans")
    refused.locator("#outbox-storage").get_by_role("button", name="Dismiss").tap()
    expect(warning).to_be_hidden()
    refused.reload()
    expect(refused.locator("body")).to_have_attribute("data-storage-persisted", "false")
    expect(warning).to_be_hidden()

    manager = _device(browser, server, REFUSE_PERSISTENT_STORAGE)
    sign_in(manager, "manager")  # works on a tablet: no scans wait on this device
    expect(manager.locator("body")).to_have_attribute("data-storage-persisted", "false")
    expect(manager.locator("#outbox-storage")).to_have_count(0)

    granted = _device(browser, server, GRANT_PERSISTENT_STORAGE)
    sign_in(granted, "picker")
    expect(granted.locator("body")).to_have_attribute("data-storage-persisted", "true")
    expect(granted.locator("#outbox-storage")).to_have_count(0)
    for page in (refused, manager, granted):
        page.context.close()


def test_a_tablet_order_error_shows_inline_and_keeps_what_was_typed(tablet, server):
    mine = own(server, "TSO", Item(stock={0: 5}))
    sign_in(tablet, "lead")
    tablet.goto("/tablet/orders")
    expect(tablet.get_by_label("Ships from")).to_have_value("WH1")
    tablet.get_by_label("Order number").fill("SO-TSO-1")
    tablet.get_by_label("Lines").fill(f"{mine.sku} 2\nNO-SUCH-SKU 1")
    tablet.get_by_role("button", name="Reserve and create pick list").click()
    form = tablet.locator("#new-order")
    expect(form.locator(".inline-error")).to_contain_text("NO-SUCH-SKU")
    expect(tablet.get_by_label("Order number")).to_have_value("SO-TSO-1")
    expect(tablet.get_by_label("Lines")).to_have_value(f"{mine.sku} 2\nNO-SUCH-SKU 1")
    tablet.get_by_label("Lines").fill(f"{mine.sku} 2")
    tablet.get_by_role("button", name="Reserve and create pick list").click()
    expect(feedback(tablet)).to_contain_text("Order SO-TSO-1 reserved; pick list #")


def test_the_users_screen_shows_each_role_only_what_it_may_do(tablet):
    sign_in(tablet, "manager")
    tablet.goto("/tablet/users")
    expect(tablet.locator("#users")).to_contain_text("B-PICK")
    expect(tablet.get_by_role("button", name="Save")).to_have_count(0)
    expect(tablet.get_by_role("button", name="Create user")).to_have_count(0)
    sign_in(tablet, "admin")
    tablet.goto("/tablet/users")
    expect(tablet.get_by_role("button", name="Create user")).to_be_visible()
    tablet.get_by_label("Badge code").fill("B-PICK")  # taken
    tablet.get_by_label("Name", exact=True).fill("Another Pat")
    tablet.get_by_label("PIN (4–8 digits)").fill("1234")
    tablet.get_by_role("button", name="Create user").click()
    expect(feedback(tablet)).to_have_attribute("data-feedback", "error")
    expect(tablet.get_by_label("Name", exact=True)).to_have_value("Another Pat")


def test_stock_search_finds_by_sku_barcode_and_bin_and_pages(tablet, server):
    spread = own(server, "TSS", Item(stock=dict.fromkeys(range(55), 1), barcodes=True), bins=55)
    sign_in(tablet, "lead")
    tablet.set_viewport_size(TABLET)
    tablet.goto(f"/tablet/stock?q={spread.sku}")
    rows = tablet.locator("#stock-rows tbody tr")
    expect(rows).to_have_count(50)
    expect(tablet.locator("#found")).to_contain_text(f"item {spread.sku}: rows 1–50, more on the next page")
    expect(tablet.get_by_role("row", name=re.compile(f"^{spread.sku} .* {spread.bins[0]} — 1 0 1$"))).to_be_visible()
    screenshot(tablet, "tablet-stock-search")
    tablet.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(tablet.locator("#found")).to_contain_text("rows 51–55.")
    tablet.goto(f"/tablet/stock?q={spread.item.gtin}")
    expect(tablet.locator("#found")).to_contain_text(f"item {spread.sku}")
    tablet.goto(f"/tablet/stock?q={spread.bins[7]}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(spread.sku)
