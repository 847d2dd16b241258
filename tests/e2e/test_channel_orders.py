"""A Shopify webhook order, end to end on the real server (no Redis: the web process imports it as the
webhook arrives): the lead builds waves and sees why it ships from WH1 on the tablet, a picker picks,
packs and ships it at 360×640, and the order ends `shipped`."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time

import httpx
from playwright.sync_api import expect

from backend.domain.channels import base64_signature
from tests.e2e.conftest import feedback, screenshot, sign_in, wedge
from tests.e2e.outbox_support import assert_check_clean, drained
from tests.e2e.own import Item, own

SECRET = "shpss_e2e_0123456789abcdef"
IMPORT_WAIT_S = 30
_numbers = itertools.count(1)


def _channel(server) -> str:
    name = f"E2E Shop {os.getpid()} {next(_numbers)}"
    out = subprocess.run([sys.executable, "-m", "backend", "channel", "create", "--kind", "shopify", "--name", name,
                          "--secret", SECRET, "--warehouse", "WH1"], env=server.env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _shopify_order(order_id: int, sku: str, qty: int) -> bytes:
    return json.dumps({
        "id": order_id, "name": f"#{order_id}", "financial_status": "paid", "cancelled_at": None,
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z", "total_price": "24.00",
        "line_items": [{"id": order_id * 10, "sku": sku, "variant_id": 1, "product_id": 2, "quantity": qty,
                        "price": "12.00"}],
        "shipping_address": {"address1": "1 Market St", "zip": "94107", "country_code": "US"},
        "shipping_lines": [{"title": "UPS Ground"}],
    }).encode()


def _wait_for_order(server, slug: str, status: str) -> dict:
    deadline = time.monotonic() + IMPORT_WAIT_S
    while time.monotonic() < deadline:
        items = server.api("/orders", channel=slug)["items"]
        if items and items[0]["status"] == status:
            return items[0]
        time.sleep(0.3)
    raise AssertionError(f"no {status} order from {slug}: {server.api('/orders', channel=slug)}")


def test_a_shopify_webhook_order_is_picked_packed_and_shipped_on_the_handheld(tablet, handheld, server):
    mine = own(server, "CHO", Item(stock={0: 5}))
    sku, bin_code = mine.sku, mine.bins[0]
    slug = _channel(server)
    order_id = 900_000 + os.getpid() % 10_000 * 10 + next(_numbers)
    body = _shopify_order(order_id, sku, 2)
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
               "X-Shopify-Webhook-Id": f"e2e-{order_id}", "X-Shopify-Hmac-Sha256": base64_signature(SECRET, body)}
    answer = httpx.post(f"{server.url}/webhooks/shopify/{slug}", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    order = _wait_for_order(server, slug, "released")
    ref = order["order_ref"]

    sign_in(tablet, "lead")
    tablet.goto("/tablet/orders")
    tablet.get_by_role("button", name="Build waves").click()
    expect(feedback(tablet)).to_contain_text(re.compile(r"\d+ wave\(s\)"))
    tablet.goto(f"/tablet/orders/{order['id']}")
    expect(tablet.locator("[data-order-status]")).to_have_attribute("data-order-status", "picking")
    expect(tablet.locator("td.reason").first).to_contain_text("ship complete from WH1")
    screenshot(tablet, "tablet-channel-order")
    pick_list_id = tablet.locator("[data-pick-list]").first.get_attribute("data-pick-list")

    sign_in(handheld, "picker")
    handheld.goto(f"/floor/pick/{pick_list_id}")
    expect(handheld.locator(".pick-bin strong")).to_have_text(bin_code)
    wedge(handheld, bin_code)
    expect(feedback(handheld)).to_contain_text(f"{bin_code} OK")
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text(f"Picked 1 of 2 {sku}")
    wedge(handheld, sku)
    expect(feedback(handheld)).to_contain_text(f"Picked 2 of 2 {sku}")
    drained(handheld)  # the picks went through the outbox and the server applied them

    handheld.goto("/floor/pack")
    wedge(handheld, ref)
    expect(feedback(handheld)).to_contain_text("Carton CTN-")
    for _ in range(2):
        wedge(handheld, sku)
        expect(feedback(handheld)).to_contain_text("Packed into")
    handheld.get_by_role("button", name="Finish carton").tap()
    expect(feedback(handheld)).to_contain_text("closed")
    carton = re.search(r"CTN-\d+", feedback(handheld).inner_text()).group(0)
    assert server.api(f"/orders/{order['id']}")["status"] == "packed"

    handheld.goto("/floor/ship")
    wedge(handheld, carton)
    handheld.get_by_label("Carrier", exact=True).select_option("UPS")
    handheld.locator("#scan").focus()
    wedge(handheld, "1Z999AA10123456784")
    expect(feedback(handheld)).to_contain_text(f"Shipped {carton} with UPS")
    screenshot(handheld, "ship-channel-order")

    shipped = server.api(f"/orders/{order['id']}")
    assert shipped["status"] == "shipped"
    statuses = [e["after"]["status"] for e in shipped["timeline"] if (e["after"] or {}).get("status")]
    assert statuses == ["imported", "validated", "reserved", "released", "picking", "packed", "shipped"]
    assert [line["shipped_qty"] for line in shipped["lines"]] == [2]
    assert_check_clean(server)
