"""The tablet's order screens through the real app: the order list with filters, an order's timeline
and allocation reasons, a manager releasing a hold, waves, channels with a CSV of mappings, the
unmapped-SKU queue and the webhook log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain import orders as o
from backend.http.app import create_app
from tests.channel_support import body_of, make_channel, post_shopify, run_import, shopify_headers, shopify_order
from tests.factories import item, receive, warehouse
from tests.sync_support import csrf_client, sign_in


@pytest.fixture
async def tablet(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    bins = await warehouse()
    await item("MUG")
    await receive("MUG", 5, bins[0])
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as c:
        yield c


async def _held_order(tablet: httpx.AsyncClient) -> int:
    shop = await make_channel("shopify", "Shop")
    payload = shopify_order([("MUG", 2), ("SHOP-ONLY-SKU", 1)], financial_status="pending")
    assert (await post_shopify(tablet, shop.slug, payload)).status_code == 200
    await run_import()
    [row] = await o.list_orders()
    return row.id


async def test_a_lead_finds_an_order_and_sees_its_timeline_and_why_it_ships_from_where(tablet):
    order_id = await _held_order(tablet)
    await sign_in(tablet, "lead")
    listed = await tablet.get("/tablet/orders/all", params={"status": "imported"})
    assert listed.status_code == 200 and "SHOP-" in listed.text
    rows = await tablet.get("/tablet/orders/all", params={"status": "shipped"}, headers={"HX-Request": "true"})
    assert "No orders match." in rows.text and "<html" not in rows.text  # the partial alone for htmx
    detail = await tablet.get(f"/tablet/orders/{order_id}")
    assert "Unmapped channel SKU <strong>SHOP-ONLY-SKU</strong>" in detail.text
    channels_page = await tablet.get("/tablet/channels")
    assert "SHOP-ONLY-SKU" in channels_page.text  # the unmapped-SKU queue


async def test_a_manager_maps_a_sku_from_a_csv_and_releases_the_hold_with_a_note(tablet):
    order_id = await _held_order(tablet)
    await sign_in(tablet, "lead")
    csv = b"channel_sku,sku\nSHOP-ONLY-SKU,MUG\n"
    refused = await tablet.post("/tablet/channels/shop/mappings", files={"file": ("map.csv", csv, "text/csv")})
    assert refused.status_code == 403  # a lead may look, a manager maps
    await sign_in(tablet, "manager")
    mapped = await tablet.post("/tablet/channels/shop/mappings", files={"file": ("map.csv", csv, "text/csv")})
    assert mapped.status_code == 200 and "1 mapping(s) set for shop" in mapped.text
    await run_import()
    detail = await o.get_order_detail(order_id)
    assert (detail.status, [h.reason for h in detail.open_holds]) == ("on_hold", ["payment_not_captured"])
    page = await tablet.get(f"/tablet/orders/{order_id}")
    assert "ship complete from WH1" in page.text and "payment not captured" in page.text
    released = await tablet.post(f"/tablet/orders/{order_id}/release", data={"key": "r-1", "note": "paid by wire"})
    assert released.status_code == 200 and "order SHOP-" in released.text
    assert (await o.get_order_detail(order_id)).status == "released"
    assert "paid by wire" in (await tablet.get(f"/tablet/orders/{order_id}")).text


async def test_a_lead_builds_waves_that_feed_the_pick_lists(tablet):
    shop = await make_channel("shopify", "Shop")
    for _ in range(3):
        await post_shopify(tablet, shop.slug, shopify_order([("MUG", 1)]))
    await run_import()
    await sign_in(tablet, "lead")
    r = await tablet.post("/tablet/waves", data={"key": "w-1"})
    assert r.status_code == 200 and "1 wave(s): 3 order(s), 1 pick list(s)." in r.text
    assert {row.status for row in await o.list_orders()} == {"picking"}
    again = await tablet.post("/tablet/waves", data={"key": "w-2"})
    assert again.status_code == 409


async def test_the_webhook_log_shows_failures_and_an_admin_connects_a_channel(tablet):
    shop = await make_channel("shopify", "Shop")
    broken = b'{"id": 1,'
    await tablet.post(f"/webhooks/shopify/{shop.slug}", content=broken,
                      headers=shopify_headers(broken, "orders/create"))
    fine = body_of(shopify_order([("MUG", 1)]))
    await tablet.post(f"/webhooks/shopify/{shop.slug}", content=fine, headers=shopify_headers(fine, "orders/create"))
    await sign_in(tablet, "manager")
    log = await tablet.get("/tablet/webhooks", params={"failures": "yes"})
    assert log.status_code == 200 and "malformed" in log.text and log.text.count('data-status="rejected"') == 1
    assert 'data-status="pending"' not in log.text
    assert (await tablet.post("/tablet/channels", data={"kind": "woocommerce", "name": "Woo",
                                                         "secret": "woo-secret-123"})).status_code == 403
    await sign_in(tablet, "admin")
    created = await tablet.post("/tablet/channels", data={"kind": "woocommerce", "name": "Woo Store",
                                                           "secret": "woo-secret-123", "priority": "5"})
    assert created.status_code == 200 and "/webhooks/woocommerce/woo-store" in created.text
    assert "woo-secret-123" not in created.text
