"""Offline handheld at 360×640: screens from the service worker, sign-in from the cached PIN verifier,
wedge scans worked from the snapshot into the outbox, and sent exactly once when the network is back.
The network is really cut (context.set_offline also cuts the service worker's fetches)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    HANDHELD,
    feedback,
    screenshot,
    sign_in,
    start_server,
    stop_server,
    wedge,
)
from tests.e2e.outbox_support import drained
from tests.e2e.own import Item, own
from tests.e2e.seed import MUG_GTIN, USERS
from tests.e2e.test_fulfilment_screens import create_order, open_pick_list
from tests.e2e.waits import eventually

DRAIN_TIMEOUT_MS = 20000
STORED_USER_TIMEOUT_MS = 10000

STORED_USER = """async (code) => {
  const db = await new Promise((ok, err) => { const r = indexedDB.open("stockline-offline", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); });
  return new Promise((ok) => { const g = db.transaction("kv").objectStore("kv").get("user:" + code.toLowerCase());
    g.onsuccess = () => ok(g.result || null); g.onerror = () => ok(null); });
}"""
CACHED_SCREENS = """async () => {
  const urls = [];
  for (const name of (await caches.keys()).filter((k) => k.startsWith("stockline-screens-"))) {
    for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
  }
  return urls;
}"""


def ready_for_offline(page: Page) -> None:
    """The service worker controls the page and the snapshot is stored on the device."""
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.wait_for_function("navigator.serviceWorker.controller !== null && Boolean(window.Stockline.offline.synced)")


def open_ready(page: Page, role: str, path: str) -> None:
    """`role` signs in online and opens `path`, which is then ready to work offline."""
    sign_in(page, role)
    page.goto(path)
    ready_for_offline(page)


@contextmanager
def offline(page: Page) -> Iterator[None]:
    page.context.set_offline(True)
    try:
        yield
    finally:
        page.context.set_offline(False)


def sign_in_offline(page: Page, role: str, pin: str | None = None) -> None:
    badge, right_pin = USERS[role]
    wedge(page, badge)
    expect(page.locator("#pin")).to_be_focused()
    page.keyboard.type(pin or right_pin)
    page.keyboard.press("Enter")


def wait_until_sent(page: Page, timeout_ms: int = DRAIN_TIMEOUT_MS) -> None:
    """The outbox on this device holds nothing unsent and nothing refused: the counts it mirrors on the
    page's body (a synchronous value, polled until `timeout_ms`), then read from IndexedDB to be sure."""
    drained(page, timeout_s=timeout_ms // 1000)


def wait_for_stored_user(page: Page, role: str, timeout_ms: int = STORED_USER_TIMEOUT_MS) -> dict:
    """The PIN verifier of `role`'s badge is stored on the device (offline.js writes it after an online
    sign-in). `wait_for_function` cannot wait on IndexedDB (a Promise is truthy: it would return at once),
    so the stored record is read with `evaluate`, which awaits it, until it is there or time is up."""
    badge = USERS[role][0]
    return eventually(page, lambda: page.evaluate(STORED_USER, badge), timeout_ms=timeout_ms,
                      what=f"the PIN verifier of {badge} stored on the device")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Switch user").click()
    page.wait_for_url("**/signin")


def test_a_visited_screen_reopens_offline_from_the_service_worker(handheld):
    open_ready(handheld, "receiver", "/floor/move")
    handheld.reload()
    with offline(handheld):
        handheld.reload()
        expect(handheld.locator("#prompt")).to_have_text("Scan the bin to take from")
        expect(handheld.locator("body")).to_have_attribute("data-offline-copy", "")
        expect(handheld.locator("#offline-status")).to_contain_text("Offline — last synced")
        expect(handheld.locator("#scan")).to_be_focused()


def test_offline_sign_in_with_the_cached_pin_and_a_wrong_pin_is_refused(handheld):
    sign_in(handheld, "picker")
    stored = wait_for_stored_user(handheld, "picker")
    assert stored["verifier"] and stored["salt"] and USERS["picker"][1] not in str(stored)  # never the PIN
    ready_for_offline(handheld)
    sign_out(handheld)
    with offline(handheld):
        handheld.reload()  # the sign-in page from the service worker
        expect(handheld.locator("#offline-signin-note")).to_be_visible()
        sign_in_offline(handheld, "picker", pin="9999")
        expect(feedback(handheld)).to_contain_text("Wrong badge or PIN")
        expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
        handheld.reload()
        sign_in_offline(handheld, "receiver")  # never signed in on this device
        expect(feedback(handheld)).to_contain_text("has not signed in on this scanner")
        handheld.reload()
        sign_in_offline(handheld, "picker")
        handheld.wait_for_url("**/floor")
        expect(handheld.locator("#offline-who .who")).to_have_text("Picker")
        expect(handheld.get_by_role("link", name="Move")).to_be_visible()
        screenshot(handheld, "offline-signed-in")


def test_offline_sign_in_locks_after_repeated_wrong_pins(handheld):
    sign_in(handheld, "counter")
    wait_for_stored_user(handheld, "counter")
    ready_for_offline(handheld)
    sign_out(handheld)
    with offline(handheld):
        handheld.reload()
        for _ in range(5):
            sign_in_offline(handheld, "counter", pin="0000")
            expect(feedback(handheld)).to_contain_text(re.compile("Wrong badge or PIN|Locked"))
            handheld.reload()
        sign_in_offline(handheld, "counter")  # the right PIN, too late
        expect(feedback(handheld)).to_contain_text("locked")
        assert handheld.url.endswith("/signin")


def test_offline_move_by_wedge_is_pending_then_sent_exactly_once(handheld, server):
    mine = own(server, "OFM", Item(stock={0: 10}, barcodes=True))
    item, (source, target) = mine.item, mine.bins[:2]
    open_ready(handheld, "receiver", "/floor/move")
    with offline(handheld):
        wedge(handheld, source)
        wedge(handheld, item.gtin)
        wedge(handheld, item.gtin)
        expect(handheld.locator("#qty")).to_have_value("2")
        wedge(handheld, target)
        expect(feedback(handheld)).to_contain_text(f"Moved 2 {item.sku} {source} → {target}")
        expect(feedback(handheld)).to_contain_text("pending")
        expect(handheld.locator("#outbox-badge")).to_have_text("1 unsent")
        expect(handheld.locator("#offline-pending li")).to_have_count(1)
        screenshot(handheld, "offline-move-pending")
        assert server.on_hand(item.sku, target) == 0  # nothing reached the server
    expect(handheld.locator("#outbox-badge")).to_be_hidden(timeout=DRAIN_TIMEOUT_MS)
    wait_until_sent(handheld)
    expect(handheld.locator("#offline-pending li")).to_contain_text("sent")
    assert (server.on_hand(item.sku, source), server.on_hand(item.sku, target)) == (8, 2)
    handheld.evaluate("window.Stockline.outbox.drain()")  # another drain sends nothing again
    assert (server.on_hand(item.sku, source), server.on_hand(item.sku, target)) == (8, 2)
    check = server.check()
    assert check.returncode == 0, check.stdout


def test_offline_scan_of_an_unknown_barcode_is_an_error_you_hear_and_feel(handheld):
    handheld.add_init_script("window.__buzz = []; navigator.vibrate = (p) => { window.__buzz.push(p); return true; };")
    open_ready(handheld, "receiver", "/floor/move")
    with offline(handheld):
        wedge(handheld, "A-01")
        wedge(handheld, "NOT-A-REAL-CODE")
        expect(feedback(handheld)).to_contain_text("not known")
        expect(feedback(handheld)).to_have_attribute("data-feedback", "error")
        handheld.wait_for_function("window.__buzz.some((p) => JSON.stringify(p) === '[200,80,200]')")
        expect(handheld.locator("#scan")).to_be_focused()


def test_offline_lookup_shows_the_item_from_the_snapshot(handheld):
    open_ready(handheld, "picker", "/floor/lookup")
    handheld.reload()
    with offline(handheld):
        handheld.reload()
        wedge(handheld, MUG_GTIN)
        expect(handheld.locator("#flow h2")).to_contain_text("MUG")
        expect(handheld.locator(".offline-note")).to_contain_text(re.compile(r"Offline — last synced \d\d:\d\d"))
        expect(feedback(handheld)).to_have_attribute("data-feedback", "ok")
        wedge(handheld, "B-01")
        expect(handheld.locator("#flow h2")).to_contain_text("B-01")
        screenshot(handheld, "offline-lookup")


def test_signing_out_clears_the_cached_screens_for_the_next_person(handheld):
    open_ready(handheld, "receiver", "/floor/lookup")
    handheld.goto("/floor/move")
    handheld.goto("/floor/lookup")
    assert {"/floor", "/floor/move", "/floor/lookup"} <= set(handheld.evaluate(CACHED_SCREENS))
    sign_out(handheld)
    assert handheld.evaluate(CACHED_SCREENS) == []
    with offline(handheld):
        handheld.goto("/floor/move")  # no copy of the receiver's screen: the shell, asking who is there
        expect(handheld.locator("#offline-shell")).to_be_visible()
        expect(handheld.get_by_role("link", name="Sign in")).to_be_visible()
        expect(handheld.locator("body")).not_to_contain_text("Receiver")


def test_snapshot_is_compact_gzipped_and_guarded(handheld, server):
    assert handheld.request.get("/floor/snapshot.json", max_redirects=0).status in (302, 303, 401)
    sign_in(handheld, "picker")
    r = handheld.request.get("/floor/snapshot.json", headers={"Accept-Encoding": "gzip"})
    assert r.ok and r.headers["content-encoding"] == "gzip"
    snap = r.json()
    mug = next(n for n, row in enumerate(snap["items"]) if row[0] == "MUG")
    assert {(code, factor) for code, item, factor in snap["barcodes"] if item == mug} == {
        (MUG_GTIN, 1), ("14006381333938", 24)}
    assert snap["bins"][[b[0] for b in snap["bins"]].index("A-01")][:4] == ["A-01", "A-01", "bin", "WH1"]


def test_service_worker_precaches_the_shell_but_not_the_camera_wasm(handheld, server):
    sign_in(handheld, "picker")
    ready_for_offline(handheld)
    cached = handheld.evaluate("""async () => {
      const name = (await caches.keys()).find((k) => k.startsWith("stockline-shell-"));
      return (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
    }""")
    assert {"/static/outbox.js", "/static/offline.js", "/static/app.js", "/offline", "/signin"} <= set(cached)
    assert not any(path.endswith(".wasm") for path in cached)


def test_service_worker_version_is_the_assets_content_hash(server):
    from backend.http.floor.pwa import asset_hash

    script = httpx.get(f"{server.url}/sw.js").text
    assert "__ASSET_HASH__" not in script
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', script)
    assert version and version[1] == asset_hash()


def test_offline_receive_adds_up_scans_and_keeps_the_lot_of_a_gs1_label(handheld, server):
    mine = own(server, "OFR", Item(barcodes=True), Item(barcodes=True, lot_tracked=True))
    (each, lots), (first, second) = mine.items, mine.bins[:2]
    open_ready(handheld, "receiver", "/floor/receive")
    with offline(handheld):
        wedge(handheld, each.case_gtin)  # a case: 24 each
        wedge(handheld, each.gtin)
        expect(handheld.locator("#qty")).to_have_value("25")
        wedge(handheld, first)
        expect(feedback(handheld)).to_contain_text(f"Received 25 {each.sku} into {first}")
        wedge(handheld, lots.gs1("L-OFF"))
        expect(handheld.locator("#lot")).to_have_value("L-OFF")
        wedge(handheld, lots.gs1("L-OTHER"))  # two lots are never posted as one
        expect(feedback(handheld)).to_contain_text(f"Finish or clear {lots.sku} lot L-OFF before scanning lot L-OTHER")
        wedge(handheld, mine.zone)  # a zone, not a bin
        expect(feedback(handheld)).to_contain_text(f"{mine.zone} is a zone location, not a bin")
        wedge(handheld, second)
        expect(feedback(handheld)).to_contain_text(f"Received 1 {lots.sku} into {second}")
        expect(handheld.locator("#outbox-badge")).to_have_text("2 unsent")
    expect(handheld.locator("#outbox-badge")).to_be_hidden(timeout=DRAIN_TIMEOUT_MS)
    wait_until_sent(handheld)
    assert server.on_hand(each.sku, first) == 25
    rows = server.api("/stock", sku=lots.sku, location=second)["items"]
    assert [(r["lot"], r["on_hand"]) for r in rows] == [("L-OFF", 1)]


def test_offline_pick_walks_the_cached_pick_list(tablet, handheld, server):
    mine = own(server, "OFP", Item(stock={1: 3}, barcodes=True), Item(stock={0: 3}))
    (item, other), (wrong_bin, bin_code) = mine.items, mine.bins[:2]
    order = create_order(tablet, f"{item.sku} 1")
    sign_in(handheld, "picker")
    open_pick_list(handheld, order)
    ready_for_offline(handheld)
    expect(handheld.locator(".pick-bin strong")).to_have_text(bin_code)
    with offline(handheld):
        wedge(handheld, wrong_bin)
        expect(feedback(handheld)).to_contain_text(f"Wrong bin: go to {bin_code}")
        wedge(handheld, bin_code)
        expect(feedback(handheld)).to_contain_text(f"{bin_code} OK")
        wedge(handheld, other.sku)
        expect(feedback(handheld)).to_contain_text(f"not {item.sku}")
        wedge(handheld, item.gtin)
        expect(feedback(handheld)).to_contain_text("Pick list done")
        expect(handheld.locator("#outbox-badge")).to_have_text("1 unsent")
    expect(handheld.locator("#outbox-badge")).to_be_hidden(timeout=DRAIN_TIMEOUT_MS)
    wait_until_sent(handheld)
    assert server.on_hand(item.sku, "WH1-STAGE") == 1


def test_offline_count_needs_a_count_started_online(handheld, server):
    on_hand = 4
    mine = own(server, "OFC", Item(stock={0: on_hand}))
    sku, bin_code = mine.sku, mine.bins[0]
    open_ready(handheld, "counter", "/floor/count")
    with offline(handheld):
        wedge(handheld, bin_code)  # no count of the bin started: the server must start it
        expect(feedback(handheld)).to_contain_text("needs a connection")
    handheld.goto("/floor/count")
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"Counting {bin_code}")
    handheld.evaluate("window.Stockline.offline.refreshSnapshot()")
    with offline(handheld):
        handheld.locator("#qty").fill(str(on_hand))
        handheld.locator("#scan").focus()
        wedge(handheld, sku)
        expect(feedback(handheld)).to_contain_text("pending")
        expect(handheld.locator("#outbox-badge")).to_have_text("1 unsent")
    expect(handheld.locator("#outbox-badge")).to_be_hidden(timeout=DRAIN_TIMEOUT_MS)
    wait_until_sent(handheld)
    handheld.goto("/floor/count")
    wedge(handheld, bin_code)
    expect(handheld.locator("table.stock tr", has_text=sku)).to_contain_text(str(on_hand))
    handheld.once("dialog", lambda d: d.accept())
    handheld.get_by_role("button", name="Finish count").tap()
    expect(feedback(handheld)).to_contain_text("Count done and posted")
    assert server.on_hand(sku, bin_code) == on_hand


KEEP_RESULTS = """document.addEventListener("stockline:result", (e) => {
  const seen = JSON.parse(sessionStorage.getItem("test.results") || "[]");
  seen.push(e.detail.result);
  sessionStorage.setItem("test.results", JSON.stringify(seen));
});"""


def test_scans_of_an_offline_session_are_sent_as_that_user(handheld, server):
    mine = own(server, "OFS", Item(stock={0: 3}))
    sku, (source, target) = mine.sku, mine.bins[:2]
    handheld.add_init_script(KEEP_RESULTS)  # what the server answered, for the failure message
    sign_in(handheld, "picker")
    wait_for_stored_user(handheld, "picker")
    ready_for_offline(handheld)
    sign_out(handheld)
    with offline(handheld):
        handheld.reload()
        sign_in_offline(handheld, "picker")
        handheld.wait_for_url("**/floor")
        handheld.get_by_role("link", name="Move").click()
        expect(handheld.locator("#prompt")).to_have_text("Scan the bin to take from")
        wedge(handheld, source)
        wedge(handheld, sku)
        wedge(handheld, target)
        expect(feedback(handheld)).to_contain_text(f"Moved 1 {sku} {source} → {target}")
        envelope = handheld.evaluate("""() => new Promise((ok) => { const r = indexedDB.open("stockline-outbox");
          r.onsuccess = () => { const g = r.result.transaction("outbox").objectStore("outbox").getAll();
            g.onsuccess = () => ok(g.result.map((x) => x.envelope)); }; })""")
        assert [e["kind"] for e in envelope] == ["move"]
        picker_id = handheld.evaluate(STORED_USER, USERS["picker"][0])["user_id"]
        assert envelope[0]["user_id"] == picker_id
    sign_in(handheld, "lead")  # whoever signs in next relays the saved scan; it stays the picker's
    wait_until_sent(handheld)
    answers = (handheld.evaluate("sessionStorage.getItem('test.results')"),
               handheld.evaluate("window.Stockline.outbox.rejected()"), handheld.context.cookies())
    assert server.on_hand(sku, target) == 1, answers
    moves = server.api("/movements", sku=sku, location=target)["items"]
    assert [m["actor"] for m in moves if m["idempotency_key"].startswith("sync:")] == ["user:B-PICK"]


def test_switch_user_offline_ends_the_offline_session(handheld):
    sign_in(handheld, "picker")
    wait_for_stored_user(handheld, "picker")
    ready_for_offline(handheld)
    sign_out(handheld)
    with offline(handheld):
        handheld.reload()
        sign_in_offline(handheld, "picker")
        handheld.wait_for_url("**/floor")
        sign_out(handheld)
        assert handheld.evaluate("localStorage.getItem('stockline.session')") is None
        handheld.goto("/floor/move")
        expect(handheld.get_by_role("link", name="Sign in")).to_be_visible()


def test_an_idle_offline_session_signs_itself_out(browser, tmp_path):
    srv = start_server("sqlite", tmp_path, STOCKLINE_IDLE_SIGNOUT_S="4")
    context = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=srv.url)
    try:
        page = context.new_page()
        sign_in(page, "picker")
        wait_for_stored_user(page, "picker")
        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        page.wait_for_url("**/signin", timeout=10_000)  # signed out online after 4 s idle
        with offline(page):
            page.reload()
            sign_in_offline(page, "picker")
            page.wait_for_url("**/floor")
            expect(page.locator("#offline-who .who")).to_have_text("Picker")
            page.wait_for_url("**/signin", timeout=10_000)  # and offline too
            assert page.evaluate("localStorage.getItem('stockline.session')") is None
    finally:
        context.close()
        stop_server(srv)
