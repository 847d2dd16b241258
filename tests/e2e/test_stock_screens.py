"""Lookup, receive, putaway and move at 360×640, driven like a wedge scanner; ledger checked via the API."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.e2e.conftest import HANDHELD, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import (
    BADGE,
    assert_check_clean,
    counts,
    drained,
    sync_movements,
)
from tests.e2e.own import Item, own
from tests.e2e.seed import MUG_GTIN

FLOW_RESULT_WAIT_MS = 5000  # outbox.js: how long a screen step waits for its scan's answer


def test_lookup_item_and_bin(handheld, server):
    mine = own(server, "LK", Item(stock={0: 10}, barcodes=True), Item(stock={1: 5}))
    (item, other), (first, second) = mine.items, mine.bins[:2]
    sign_in(handheld, "picker")
    handheld.goto("/floor/lookup")
    expect(handheld.locator("#scan")).to_be_focused()
    wedge(handheld, item.gtin)
    expect(handheld.locator("table.stock")).to_contain_text(first)
    screenshot(handheld, "lookup-item")
    wedge(handheld, second)
    expect(handheld.locator("table.stock")).to_contain_text(other.sku)


def test_unknown_barcode_gives_error_feedback_and_keeps_focus(handheld):
    sign_in(handheld, "picker")
    handheld.goto("/floor/lookup")
    wedge(handheld, "NOT-A-REAL-CODE")
    expect(feedback(handheld)).to_contain_text("not known")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
    expect(handheld.locator("#scan")).to_be_focused()
    expect(handheld.locator("#scan")).to_have_value("")
    screenshot(handheld, "scan-error")


def test_focus_returns_to_scan_field_after_tapping_elsewhere(handheld):
    sign_in(handheld, "picker")
    handheld.goto("/floor/lookup")
    handheld.locator("header").tap()
    expect(handheld.locator("#scan")).to_be_focused()
    expect(handheld.locator("#scan")).to_have_attribute("inputmode", "none")


def test_receive_case_and_damaged_units(handheld, server):
    mine = own(server, "RCV", Item(barcodes=True))
    item, bin_code = mine.item, mine.bins[0]
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.case_gtin)  # a case: 24 each
    wedge(handheld, item.gtin)
    expect(handheld.locator("#qty")).to_have_value("25")
    handheld.locator("#damaged").fill("2")
    handheld.locator("#scan").focus()
    screenshot(handheld, "receive")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"Received 25 {item.sku} into {bin_code} (2 damaged)")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert server.on_hand(item.sku, bin_code) == 25
    [stock] = server.api("/stock", sku=item.sku, location=bin_code)["items"]
    assert stock["damaged"] == 2
    posted = sync_movements(server, item.sku)  # by the envelope
    assert {m["to_location"] for m in posted} == {bin_code} and sum(m["qty"] for m in posted) == 25
    drained(handheld)
    assert_check_clean(server)


def test_receive_lot_tracked_item_from_gs1_label(handheld, server):
    mine = own(server, "LOT", Item(barcodes=True, lot_tracked=True))
    item, bin_code = mine.item, mine.bins[0]
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.gs1("L-2027"))
    expect(handheld.locator("#lot")).to_have_value("L-2027")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"Received 1 {item.sku}")
    rows = server.api("/stock", sku=item.sku, location=bin_code)["items"]
    assert [(row["lot"], row["on_hand"]) for row in rows] == [("L-2027", 1)]


def test_move_bin_item_bin(handheld, server):
    mine = own(server, "MV", Item(stock={0: 5}))
    sku, (source, target) = mine.sku, mine.bins[:2]
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    wedge(handheld, source)
    wedge(handheld, sku)
    wedge(handheld, sku)
    expect(handheld.locator("#qty")).to_have_value("2")
    screenshot(handheld, "move")
    wedge(handheld, target)
    expect(feedback(handheld)).to_have_text(f"Moved 2 {sku} {source} → {target}")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert (server.on_hand(sku, source), server.on_hand(sku, target)) == (3, 2)
    assert sync_movements(server, sku)[-1]["to_location"] == target
    expect(handheld.locator("input[name=from_bin]")).to_have_value("")  # ready for the next move
    drained(handheld)
    assert_check_clean(server)


def test_an_online_move_is_stored_on_the_device_before_it_is_sent(browser, server):
    """The request to /sync/txns is held: the move is already in IndexedDB and shown as unsent, and
    nothing has moved on the server. After FLOW_RESULT_WAIT_MS the worker is told it is saved on the
    device; once the request goes through, the server's answer replaces that."""
    held: list[Route] = []
    # No service worker: Chromium does not route the requests of a page a service worker controls.
    mine = own(server, "MVH", Item(stock={0: 5}))
    sku, (source, target) = mine.sku, mine.bins[:2]
    context = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url, service_workers="block")
    handheld = context.new_page()
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    handheld.route("**/sync/txns", lambda route: route.continue_() if held else held.append(route))
    wedge(handheld, source)
    wedge(handheld, sku)
    wedge(handheld, target)
    expect(handheld.locator(BADGE)).to_have_text("1 unsent")
    assert counts(handheld)["pending"] == 1
    handheld.wait_for_function("n => document.querySelectorAll('[data-queued]').length === n", arg=1)
    assert server.on_hand(sku, target) == 0
    expect(feedback(handheld)).to_have_text("Saved on this device — will send when the connection is back.",
                                            timeout=FLOW_RESULT_WAIT_MS + 10_000)
    expect(feedback(handheld)).to_have_attribute("data-feedback", "warn")
    assert len(held) == 1 and held[0].request.post_data_json["envelopes"][0]["kind"] == "move"
    held[0].continue_()
    expect(feedback(handheld)).to_have_text(f"Moved 1 {sku} {source} → {target}")
    drained(handheld)
    assert server.on_hand(sku, target) == 1
    assert_check_clean(server)
    context.close()


def test_move_more_than_available_is_blocked_with_numbers(handheld, server):
    mine = own(server, "MVX", Item(stock={1: 5}))  # none in the first bin
    sku, (empty, target) = mine.sku, (mine.bins[0], mine.bins[2])
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    wedge(handheld, empty)
    wedge(handheld, sku)
    wedge(handheld, target)
    expect(feedback(handheld)).to_contain_text(f"Not enough {sku} in {empty}")
    expect(handheld.locator("input[name=from_bin]")).to_have_value(empty)  # the screen keeps its state
    assert counts(handheld)["pending"] == 0 and sync_movements(server, sku) == []  # nothing queued


def test_putaway_suggests_the_bin_and_override_needs_a_reason(handheld, server):
    mine = own(server, "PUT", Item(stock={1: 3, 2: 5}, barcodes=True))
    item, (dock, _, fullest, other) = mine.item, mine.bins
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, item.gtin)
    wedge(handheld, dock)
    expect(feedback(handheld)).to_contain_text(f"Received 1 {item.sku} into {dock}")
    handheld.goto("/floor/putaway")
    wedge(handheld, dock)
    wedge(handheld, item.gtin)
    expect(handheld.locator(".suggested")).to_have_text(fullest)  # same item first: the bin holding most
    wedge(handheld, other)
    expect(feedback(handheld)).to_contain_text("not the suggested bin")
    screenshot(handheld, "putaway-override")
    handheld.get_by_label("consolidating").check()
    handheld.get_by_role("button", name=f"Put in {other}").tap()
    expect(feedback(handheld)).to_have_text(f"Put away 1 {item.sku} in {other}")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert (server.on_hand(item.sku, dock), server.on_hand(item.sku, other)) == (0, 1)
    drained(handheld)
    assert_check_clean(server)


RECORD_FEEDBACK = """
window.__buzz = []; window.__tones = [];
navigator.vibrate = (pattern) => { window.__buzz.push(pattern); return true; };
const realOsc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const osc = realOsc.call(this);
  const start = osc.start.bind(osc);
  osc.start = (...args) => { window.__tones.push(osc.frequency.value); return start(...args); };
  return osc;
};
"""


def test_every_scan_is_heard_and_felt(handheld):
    """The platform's vibration and audio APIs are recorded (the browser's, not ours) to prove the
    screen buzzes and beeps differently for a good and a bad scan."""
    handheld.add_init_script(RECORD_FEEDBACK)
    sign_in(handheld, "picker")
    handheld.goto("/floor/lookup")
    wedge(handheld, "NOPE-123")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
    handheld.wait_for_function("window.__buzz.length === 1")
    assert handheld.evaluate("window.__buzz") == [[200, 80, 200]]
    assert set(handheld.evaluate("window.__tones")) == {220}
    wedge(handheld, MUG_GTIN)
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    handheld.wait_for_function("window.__buzz.length === 2")
    assert handheld.evaluate("window.__buzz")[1] == 40
    assert 1320 in handheld.evaluate("window.__tones")
