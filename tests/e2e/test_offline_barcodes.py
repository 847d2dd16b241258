"""The handheld offline reads GS1 labels as the server does (web/static/gs1.js, held to the golden
vectors): an AI 37 or AI 30 count is that many units, and an expiry with day 00 is the month's last day."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, feedback, wedge
from tests.e2e.own import Item, own
from tests.e2e.test_offline import (
    DRAIN_TIMEOUT_MS,
    offline,
    open_ready,
    wait_until_sent,
)


def test_offline_receive_counts_a_gs1_labels_units_and_shows_its_expiry(handheld: Page, server: Server) -> None:
    mine = own(server, "OFG", Item(barcodes=True))
    item, bin_code = mine.items[0], mine.bins[0]
    gtin14 = item.gtin.zfill(14)
    open_ready(handheld, "receiver", "/floor/receive")
    with offline(handheld):
        wedge(handheld, f"]C101{gtin14}17261100" + "3712")  # AI 37: 12 units, expiry end of November
        expect(handheld.locator("#qty")).to_have_value("12")
        expect(handheld.locator("dl.facts")).to_contain_text("2026-11-30")
        wedge(handheld, f"]C101{gtin14}" + "3005")  # AI 30: 5 pieces
        expect(handheld.locator("#qty")).to_have_value("17")
        wedge(handheld, bin_code)
        expect(feedback(handheld)).to_contain_text(f"Received 17 {item.sku} into {bin_code}")
    expect(handheld.locator("#outbox-badge")).to_be_hidden(timeout=DRAIN_TIMEOUT_MS)
    wait_until_sent(handheld)
    assert server.on_hand(item.sku, bin_code) == 17
