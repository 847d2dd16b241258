"""Installable app: manifest, icons, and a service worker that opens the screens without network."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_manifest_and_service_worker_are_served_from_the_root(server):
    manifest = httpx.get(f"{server.url}/manifest.webmanifest").json()
    assert manifest["start_url"] == "/floor" and {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    sw = httpx.get(f"{server.url}/sw.js")
    assert sw.status_code == 200 and sw.headers["content-type"].startswith("text/javascript")
    for icon in manifest["icons"]:
        assert httpx.get(server.url + icon["src"]).content.startswith(b"\x89PNG")


def test_htmx_is_vendored_2x_and_no_page_loads_from_a_cdn(handheld, server):
    outside = []
    handheld.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
    sign_in(handheld, "receiver")
    handheld.goto("/floor/receive")
    assert handheld.evaluate("htmx.version").startswith("2.")
    assert outside == []


def test_screens_open_offline_after_a_visit(handheld):
    sign_in(handheld, "receiver")
    handheld.goto("/floor/lookup")
    handheld.evaluate("async () => { await navigator.serviceWorker.ready; }")
    handheld.reload()  # now controlled by the service worker, which keeps a copy of the screen
    expect(handheld.locator("#scan")).to_be_focused()
    handheld.context.set_offline(True)
    try:
        handheld.reload()
        expect(handheld.locator("#prompt")).to_contain_text("Scan an item or a bin")
        bar_colour = handheld.evaluate("getComputedStyle(document.querySelector('.bar')).backgroundColor")
        assert bar_colour != "rgba(0, 0, 0, 0)"
        handheld.goto("/floor/pick")  # never visited: the offline page, not the browser's error
        expect(handheld.locator(".feedback")).to_contain_text("No connection")
    finally:
        handheld.context.set_offline(False)
