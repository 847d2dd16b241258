"""Offline screens at 360×640 are the online screens' own templates (rendered by the server with empty
slots, kept by the service worker, filled on the handheld), and a scan the handheld cannot store is an
error the worker sees, hears and feels, never a scan shown as saved. The network is really cut."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import feedback, screenshot, wedge
from tests.e2e.own import Item, own
from tests.e2e.test_offline import (
    DRAIN_TIMEOUT_MS,
    offline,
    open_ready,
    wait_until_sent,
)

# Whatever the browser does, the markup of a part of the flow form, without the whitespace between tags.
MARKUP = "(selector) => document.querySelector(selector).outerHTML.replace(/>\\s+</g, '><').trim()"
# The browser's storage refusing the outbox's write: the disk is full (QuotaExceededError), or the
# transaction is aborted under it. Switched on per tab by sessionStorage, so sign-in and the snapshot
# are stored as usual. This simulates the browser; Stockline's own code runs unchanged.
FAILING_STORAGE = """(() => {
  window.__buzz = [];
  navigator.vibrate = (pattern) => { window.__buzz.push(pattern); return true; };
  const add = IDBObjectStore.prototype.add;
  IDBObjectStore.prototype.add = function (...args) {
    const failure = this.name === "outbox" ? sessionStorage.getItem("test.storage") : null;
    if (failure === "quota") throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    const request = add.apply(this, args);
    if (failure === "abort") this.transaction.abort();
    return request;
  };
})();"""
ERROR_BUZZ = "window.__buzz.some((p) => JSON.stringify(p) === '[200,80,200]')"


def fail_storage(page: Page, how: str | None) -> None:
    if how:
        page.evaluate("(how) => sessionStorage.setItem('test.storage', how)", how)
    else:
        page.evaluate("sessionStorage.removeItem('test.storage')")


def test_the_offline_move_screen_is_the_online_template_filled_on_the_handheld(handheld, server):
    mine = own(server, "OTM", Item(stock={0: 5}, barcodes=True))
    item, (source, _) = mine.item, mine.bins[:2]
    open_ready(handheld, "receiver", "/floor/move")
    wedge(handheld, source)
    wedge(handheld, item.gtin)
    expect(handheld.locator("#qty")).to_have_value("1")
    online = {part: handheld.evaluate(MARKUP, f"#flow {part}") for part in ("ol.steps", ".qty-row label")}
    template = handheld.locator("#flow").get_attribute("data-template")
    assert template == "floor/move.html"
    handheld.goto("/floor/lookup")  # away: the move screen below opens from the service worker's copy
    with offline(handheld):
        handheld.goto("/floor/move")  # the service worker's copy; its form is replaced by the template
        expect(handheld.locator("#flow")).to_have_attribute("data-offline", "true")
        expect(handheld.locator("#flow")).to_have_attribute("data-template", template)
        expect(handheld.locator("#flow li", has_text="From:")).to_have_text("From: —")
        expect(handheld.locator("#qty")).to_be_hidden()
        wedge(handheld, source)
        wedge(handheld, item.gtin)
        expect(handheld.locator("#qty")).to_have_value("1")
        offline_parts = {part: handheld.evaluate(MARKUP, f"#flow {part}") for part in online}
        assert offline_parts == online  # the same elements, classes, slots and words as the server's
        # What the worker reads is text: a code that looks like markup stays text.
        wedge(handheld, "<b>not-a-code</b>")
        expect(feedback(handheld)).to_contain_text("Barcode <b>not-a-code</b> is not known")
        assert handheld.locator("#flow b").count() == 0
        screenshot(handheld, "offline-move-from-template")


def test_offline_a_scan_that_cannot_be_stored_is_an_error_and_the_task_is_kept(handheld, server):
    mine = own(server, "OTQ", Item(stock={0: 5}, barcodes=True))
    item, (source, target) = mine.item, mine.bins[:2]
    handheld.add_init_script(FAILING_STORAGE)
    open_ready(handheld, "receiver", "/floor/move")
    with offline(handheld):
        handheld.reload()
        fail_storage(handheld, "quota")
        wedge(handheld, source)
        wedge(handheld, item.gtin)
        wedge(handheld, target)
        expect(feedback(handheld)).to_contain_text("Not saved: the scanner's storage is full")
        expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
        handheld.wait_for_function(ERROR_BUZZ)
        expect(handheld.locator("#outbox-badge")).to_be_hidden()  # nothing counted as unsent
        expect(handheld.locator("#offline-pending li")).to_have_count(0)  # nothing listed as saved
        expect(handheld.locator("#flow li", has_text="Item:")).to_contain_text(item.sku)  # the task is kept
        screenshot(handheld, "offline-storage-full")
        fail_storage(handheld, None)  # space freed: the same scan again is saved
        wedge(handheld, target)
        expect(feedback(handheld)).to_contain_text(f"Moved 1 {item.sku} {source} → {target}")
        expect(handheld.locator("#outbox-badge")).to_have_text("1 unsent")
    expect(handheld.locator("#outbox-badge")).to_be_hidden(timeout=DRAIN_TIMEOUT_MS)
    wait_until_sent(handheld)
    assert (server.on_hand(item.sku, source), server.on_hand(item.sku, target)) == (4, 1)


def test_online_a_step_whose_transaction_aborts_is_not_saved_and_says_so(handheld, server):
    mine = own(server, "OTA", Item(stock={0: 5}, barcodes=True))
    item, (source, target) = mine.item, mine.bins[:2]
    handheld.add_init_script(FAILING_STORAGE)
    open_ready(handheld, "receiver", "/floor/move")
    fail_storage(handheld, "abort")
    wedge(handheld, source)
    wedge(handheld, item.gtin)
    wedge(handheld, target)
    expect(feedback(handheld)).to_contain_text(re.compile("could not save the scan: the scanner's storage refused it"))
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
    handheld.wait_for_function(ERROR_BUZZ)
    expect(handheld.locator("#outbox-badge")).to_be_hidden()
    assert handheld.evaluate("Stockline.outbox.counts()") == {"pending": 0, "rejected": 0}
    assert server.on_hand(item.sku, target) == 0  # the step was not posted behind the worker's back
