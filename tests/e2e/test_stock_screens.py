"""Lookup, receive, putaway and move at 360×640, driven like a wedge scanner; ledger checked via the API."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.e2e.conftest import HANDHELD, feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import BADGE, assert_check_clean, counts, drained, sync_movements
from tests.e2e.seed import MUG_CASE_GTIN, MUG_GTIN, TEA_GTIN

FLOW_RESULT_WAIT_MS = 5000  # outbox.js: how long a screen step waits for its scan's answer


def test_lookup_item_and_bin(handheld):
    sign_in(handheld, "picker")
    handheld.goto("/floor/lookup")
    expect(handheld.locator("#scan")).to_be_focused()
    wedge(handheld, MUG_GTIN)
    expect(handheld.locator("table.stock")).to_contain_text("A-01")
    screenshot(handheld, "lookup-item")
    wedge(handheld, "B-01")
    expect(handheld.locator("table.stock")).to_contain_text("LAMP")


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
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    before = server.on_hand("MUG", "A-02")
    sent_before = len(sync_movements(server, "MUG"))  # other tests' scans share this server
    wedge(handheld, MUG_CASE_GTIN)  # a case: 24 each
    wedge(handheld, MUG_GTIN)
    expect(handheld.locator("#qty")).to_have_value("25")
    handheld.locator("#damaged").fill("2")
    handheld.locator("#scan").focus()
    screenshot(handheld, "receive")
    wedge(handheld, "A-02")
    expect(feedback(handheld)).to_contain_text("Received 25 MUG into A-02 (2 damaged)")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert server.on_hand("MUG", "A-02") == before + 25
    stock = server.api("/stock", sku="MUG", location="A-02")["items"][0]
    assert stock["damaged"] >= 2
    posted = [m for m in sync_movements(server, "MUG")[sent_before:] if m["to_location"] == "A-02"]  # by the envelope
    assert sum(m["qty"] for m in posted) == 25
    drained(handheld)
    assert_check_clean(server)


def test_receive_lot_tracked_item_from_gs1_label(handheld, server):
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, f"]C101{'0' * 6}{TEA_GTIN}1727123110L-2027")
    expect(handheld.locator("#lot")).to_have_value("L-2027")
    wedge(handheld, "A-03")
    expect(feedback(handheld)).to_contain_text("Received 1 TEA")
    assert "L-2027" in {row["lot"] for row in server.api("/stock", sku="TEA", location="A-03")["items"]}


def test_move_bin_item_bin(handheld, server):
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    before = server.on_hand("LAMP", "B-02")
    wedge(handheld, "B-01")
    wedge(handheld, "LAMP")
    wedge(handheld, "LAMP")
    expect(handheld.locator("#qty")).to_have_value("2")
    screenshot(handheld, "move")
    wedge(handheld, "B-02")
    expect(feedback(handheld)).to_have_text("Moved 2 LAMP B-01 → B-02")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert server.on_hand("LAMP", "B-02") == before + 2
    assert sync_movements(server, "LAMP")[-1]["to_location"] == "B-02"
    expect(handheld.locator("input[name=from_bin]")).to_have_value("")  # ready for the next move
    drained(handheld)
    assert_check_clean(server)


def test_an_online_move_is_stored_on_the_device_before_it_is_sent(browser, server):
    """The request to /sync/txns is held: the move is already in IndexedDB and shown as unsent, and
    nothing has moved on the server. After FLOW_RESULT_WAIT_MS the worker is told it is saved on the
    device; once the request goes through, the server's answer replaces that."""
    held: list[Route] = []
    # No service worker: Chromium does not route the requests of a page a service worker controls.
    context = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url, service_workers="block")
    handheld = context.new_page()
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    handheld.route("**/sync/txns", lambda route: route.continue_() if held else held.append(route))
    before = server.on_hand("LAMP", "B-02")
    wedge(handheld, "B-01")
    wedge(handheld, "LAMP")
    wedge(handheld, "B-02")
    expect(handheld.locator(BADGE)).to_have_text("1 unsent")
    assert counts(handheld)["pending"] == 1
    handheld.wait_for_function("n => document.querySelectorAll('[data-queued]').length === n", arg=1)
    assert server.on_hand("LAMP", "B-02") == before
    expect(feedback(handheld)).to_have_text("Saved on this device — will send when the connection is back.",
                                            timeout=FLOW_RESULT_WAIT_MS + 10_000)
    expect(feedback(handheld)).to_have_attribute("data-feedback", "warn")
    assert len(held) == 1 and held[0].request.post_data_json["envelopes"][0]["kind"] == "move"
    held[0].continue_()
    expect(feedback(handheld)).to_have_text("Moved 1 LAMP B-01 → B-02")
    drained(handheld)
    assert server.on_hand("LAMP", "B-02") == before + 1
    assert_check_clean(server)
    context.close()


def test_move_more_than_available_is_blocked_with_numbers(handheld, server):
    sign_in(handheld, "receiver")
    handheld.goto("/floor/move")
    sent_before = len(sync_movements(server, "LAMP"))
    wedge(handheld, "A-04")
    wedge(handheld, "LAMP")
    wedge(handheld, "B-02")
    expect(feedback(handheld)).to_contain_text("Not enough LAMP in A-04")
    expect(handheld.locator("input[name=from_bin]")).to_have_value("A-04")  # the screen keeps its state
    assert counts(handheld)["pending"] == 0 and len(sync_movements(server, "LAMP")) == sent_before  # nothing queued


def test_putaway_suggests_the_bin_and_override_needs_a_reason(handheld, server):
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    wedge(handheld, MUG_GTIN)
    wedge(handheld, "DOCK-1")
    expect(feedback(handheld)).to_contain_text("Received 1 MUG into DOCK-1")
    handheld.goto("/floor/putaway")
    wedge(handheld, "DOCK-1")
    wedge(handheld, MUG_GTIN)
    rows = [r for r in server.api("/stock", sku="MUG")["items"] if r["location"] != "DOCK-1"]
    fullest = max(rows, key=lambda r: r["on_hand"])["location"]
    expect(handheld.locator(".suggested")).to_have_text(fullest)  # same item first: the bin holding most
    wedge(handheld, "B-02")
    expect(feedback(handheld)).to_contain_text("not the suggested bin")
    screenshot(handheld, "putaway-override")
    handheld.get_by_label("consolidating").check()
    before = server.on_hand("MUG", "B-02")
    handheld.get_by_role("button", name="Put in B-02").tap()
    expect(feedback(handheld)).to_have_text("Put away 1 MUG in B-02")
    expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
    assert server.on_hand("MUG", "B-02") == before + 1
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
