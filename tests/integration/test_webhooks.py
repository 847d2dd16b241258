"""Channel webhooks over HTTP (SQLite and PostgreSQL): signatures computed here from the raw bytes,
duplicates, replays, limits, the webhook log, and the import job turning deliveries into orders in
each order's channel order."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.domain import channels
from backend.domain import orders as o
from tests.channel_support import (
    SECRET,
    body_of,
    count,
    generic_body,
    generic_headers,
    make_channel,
    order_of,
    post_shopify,
    run_import,
    shopify_headers,
    shopify_order,
    webhook_client,
    woo_headers,
    woo_order,
)
from tests.factories import item, receive, warehouse


@pytest.fixture
async def client(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    bins = await warehouse()
    await item("MUG")
    await item("LAMP")
    await receive("MUG", 10, bins[0])
    await receive("LAMP", 10, bins[1])
    async with webhook_client(ledger_db) as c:
        yield c


@pytest.fixture
async def shop(client) -> channels.ChannelView:
    return await make_channel("shopify", "My Shop")


# --- signatures ------------------------------------------------------------------------------------

async def test_a_signed_shopify_order_is_stored_answered_and_imported_by_the_job(client, shop):
    payload = shopify_order([("MUG", 2)])
    r = await post_shopify(client, shop.slug, payload)
    assert (r.status_code, r.json()["result"]) == (200, "accepted")
    assert await count("orders") == 0  # answered before any order exists: the job imports it
    assert (await run_import())["applied"] == 1
    order = await order_of(payload["id"])
    assert (order["order_ref"], order["status"]) == (f"MY-SHOP-{payload['id']}", "released")


async def test_one_byte_changed_is_401_and_nothing_is_stored(client, shop):
    body = body_of(shopify_order([("MUG", 2)]))
    headers = shopify_headers(body, "orders/create")
    tampered = body.replace(b'"quantity":2', b'"quantity":3')
    assert len(tampered) == len(body) and tampered != body
    r = await client.post(f"/webhooks/shopify/{shop.slug}", content=tampered, headers=headers)
    assert r.status_code == 401
    assert await count("webhook_deliveries") == 0


async def test_a_body_reserialised_with_other_whitespace_is_401(client, shop):
    payload = shopify_order([("MUG", 2)])
    body = body_of(payload)
    headers = shopify_headers(body, "orders/create")
    respaced = json.dumps(payload, indent=2).encode()  # the same JSON value, other bytes
    assert json.loads(respaced) == json.loads(body)
    r = await client.post(f"/webhooks/shopify/{shop.slug}", content=respaced, headers=headers)
    assert r.status_code == 401
    assert await count("webhook_deliveries") == 0


@pytest.mark.parametrize("change", ["missing", "wrong secret", "unknown channel", "other kind"])
async def test_a_missing_or_wrong_signature_or_unknown_channel_is_401(client, shop, change):
    body = body_of(shopify_order([("MUG", 1)]))
    secret = "another-secret-123" if change == "wrong secret" else SECRET
    headers = shopify_headers(body, "orders/create", secret=secret)
    if change == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    path = {"unknown channel": "/webhooks/shopify/nope", "other kind": f"/webhooks/woocommerce/{shop.slug}"}.get(
        change, f"/webhooks/shopify/{shop.slug}")
    r = await client.post(path, content=body, headers=headers)
    assert r.status_code == 401, r.text
    assert await count("webhook_deliveries") == 0


async def test_a_repeated_delivery_is_200_and_nothing_is_done_twice(client, shop):
    payload = shopify_order([("MUG", 2)])
    first = await post_shopify(client, shop.slug, payload, delivery="same-id")
    again = await post_shopify(client, shop.slug, payload, delivery="same-id")
    assert (first.json()["result"], again.status_code, again.json()["result"]) == ("accepted", 200, "duplicate")
    await run_import()
    repeat = await post_shopify(client, shop.slug, payload, delivery="same-id")
    assert repeat.json()["result"] == "duplicate"
    await run_import()
    assert (await count("webhook_deliveries"), await count("orders"), await count("reservations")) == (1, 1, 1)


async def test_a_replayed_order_under_a_new_delivery_id_is_stale_and_changes_nothing(client, shop):
    payload = shopify_order([("MUG", 2)])
    await post_shopify(client, shop.slug, payload)
    await run_import()
    await post_shopify(client, shop.slug, payload)  # same order version, new webhook id
    assert (await run_import())["stale"] == 1
    assert (await count("orders"), await count("reservations")) == (1, 1)


async def test_a_body_over_the_limit_is_413(client, shop):
    body = b" " * (channels.WEBHOOK_BODY_BYTES_MAX + 1)
    r = await client.post(f"/webhooks/shopify/{shop.slug}", content=body,
                          headers=shopify_headers(body, "orders/create"))
    assert r.status_code == 413
    assert await count("webhook_deliveries") == 0


async def test_malformed_json_and_unknown_topics_are_400_and_kept_in_the_webhook_log(client, shop):
    broken = b'{"id": 1, "line_items": ['
    r1 = await client.post(f"/webhooks/shopify/{shop.slug}", content=broken,
                           headers=shopify_headers(broken, "orders/create"))
    body = body_of(shopify_order([("MUG", 1)]))
    r2 = await client.post(f"/webhooks/shopify/{shop.slug}", content=body,
                           headers=shopify_headers(body, "products/update"))
    wrong = body_of({**shopify_order([("MUG", 1)]), "line_items": [{"sku": "MUG", "quantity": "two"}]})
    r3 = await client.post(f"/webhooks/shopify/{shop.slug}", content=wrong,
                           headers=shopify_headers(wrong, "orders/create"))
    assert (r1.status_code, r2.status_code, r3.status_code) == (400, 400, 400)
    log = await channels.webhook_log(failures_only=True)
    assert [d.status for d in log] == ["rejected"] * 3
    assert "unknown topic 'products/update'" in log[1].reason and "malformed" in log[2].reason
    assert log[2].body_excerpt.startswith('{"id"')
    assert (await run_import())["applied"] == 0 and await count("orders") == 0


# --- order of deliveries -------------------------------------------------------------------------

def _created_and_updated() -> tuple[dict, dict]:
    created = shopify_order([("MUG", 1)], version=1)
    updated = {**created, "updated_at": "2026-11-20T10:05:00-05:00",
               "line_items": [{**created["line_items"][0], "quantity": 3}]}
    return created, updated


async def _ordered_mugs(external_id: int) -> tuple[list[tuple[str, int]], int]:
    detail = await o.get_order_detail((await order_of(external_id))["id"])
    return [(line.sku, line.qty) for line in detail.lines], sum(r.open_qty for r in detail.reservations)


async def test_deliveries_waiting_together_apply_in_the_channels_order(client, shop):
    created, updated = _created_and_updated()
    await post_shopify(client, shop.slug, updated, topic="orders/updated")  # arrives first
    await post_shopify(client, shop.slug, created, topic="orders/create")
    assert await run_import() == {"applied": 2, "stale": 0, "waiting": 0, "failed": 0, "mapped_orders": 0}
    assert await _ordered_mugs(created["id"]) == ([("MUG", 3)], 3)
    timeline = (await o.get_order_detail((await order_of(created["id"]))["id"])).timeline
    actions = [e.action for e in timeline]
    assert actions.index("order.create") < actions.index("order.lines_changed")


async def test_an_update_imported_before_its_create_wins_over_the_late_create(client, shop):
    created, updated = _created_and_updated()
    await post_shopify(client, shop.slug, updated, topic="orders/updated")
    assert (await run_import())["applied"] == 1
    await post_shopify(client, shop.slug, created, topic="orders/create")
    assert (await run_import())["stale"] == 1
    assert await _ordered_mugs(created["id"]) == ([("MUG", 3)], 3)


async def test_an_update_after_the_import_changes_the_reservations(client, shop):
    created = shopify_order([("MUG", 2)], version=1)
    await post_shopify(client, shop.slug, created)
    await run_import()
    edited = {**created, "updated_at": "2026-11-20T10:09:00-05:00",
              "line_items": [{**created["line_items"][0], "quantity": 1}, {"id": 9, "sku": "LAMP", "quantity": 2}]}
    await post_shopify(client, shop.slug, edited, topic="orders/updated")
    await run_import()
    detail = await o.get_order_detail((await order_of(created["id"]))["id"])
    open_by_sku = {r.sku: r.open_qty for r in detail.reservations if r.status == "open"}
    assert (detail.status, open_by_sku) == ("released", {"MUG": 1, "LAMP": 2})
    assert any(e.action == "order.lines_changed" for e in detail.timeline)


async def test_a_cancel_releases_the_reservations(client, shop):
    created = shopify_order([("MUG", 4)], version=1)
    await post_shopify(client, shop.slug, created)
    await run_import()
    cancelled = {**created, "updated_at": "2026-11-20T10:30:00-05:00", "cancelled_at": "2026-11-20T10:30:00-05:00"}
    await post_shopify(client, shop.slug, cancelled, topic="orders/cancelled")
    await run_import()
    detail = await o.get_order_detail((await order_of(created["id"]))["id"])
    assert detail.status == "cancelled"
    assert {r.status for r in detail.reservations} == {"released"}
    assert await count("reservations", "status = 'open'") == 0


async def test_a_refund_that_arrives_before_its_order_waits_then_is_recorded(client, shop):
    created = shopify_order([("MUG", 1)])
    refund = {"id": 55, "order_id": created["id"], "created_at": "2026-11-21T09:00:00Z",
              "refund_line_items": [{"line_item_id": created["line_items"][0]["id"], "quantity": 1}],
              "transactions": [{"amount": "10.00", "kind": "refund", "status": "success"}]}
    await post_shopify(client, shop.slug, refund, topic="refunds/create")
    assert (await run_import())["waiting"] == 1
    await post_shopify(client, shop.slug, created)
    await run_import()
    detail = await o.get_order_detail((await order_of(created["id"]))["id"])
    assert [(r.external_id, r.amount_cents, r.order_status) for r in detail.refunds] == [("55", 1000, "released")]
    assert detail.status == "released"  # a refund before shipping is recorded; it does not ship or cancel


# --- other kinds ---------------------------------------------------------------------------------

async def test_woocommerce_orders_and_deletions(client):
    woo = await make_channel("woocommerce", "Woo Store")
    payload = woo_order([("LAMP", 2)])
    body = body_of(payload)
    r = await client.post(f"/webhooks/woocommerce/{woo.slug}", content=body,
                          headers=woo_headers(body, "order.created"))
    assert r.status_code == 200
    await run_import()
    assert (await order_of(payload["id"]))["status"] == "released"
    deleted = body_of({"id": payload["id"]})
    await client.post(f"/webhooks/woocommerce/{woo.slug}", content=deleted,
                      headers=woo_headers(deleted, "order.deleted"))
    await run_import()
    assert (await order_of(payload["id"]))["status"] == "cancelled"


async def test_generic_signature_window_and_format(client):
    gen = await make_channel("generic", "Marketplace")
    order = {"id": "G-1", "version": 1, "lines": [{"sku": "MUG", "qty": 1}],
             "ship_to": {"country": "US", "postcode": "10001", "address1": "5th Ave"}}
    body = generic_body("order.created", order)
    ok = await client.post(f"/webhooks/generic/{gen.slug}", content=body, headers=generic_headers(body))
    stale_at = int(time.time()) - 301
    old = await client.post(f"/webhooks/generic/{gen.slug}", content=body, headers=generic_headers(body, at=stale_at))
    future = await client.post(f"/webhooks/generic/{gen.slug}", content=body,
                               headers=generic_headers(body, at=int(time.time()) + 400))
    assert (ok.status_code, old.status_code, future.status_code) == (200, 401, 401)
    other = generic_body("order.created", {**order, "id": "G-2"})
    signed_for_other = generic_headers(body)  # a valid signature, but of another body
    refused = await client.post(f"/webhooks/generic/{gen.slug}", content=other, headers=signed_for_other)
    assert refused.status_code == 401
    await run_import()
    assert (await order_of("G-1"))["status"] == "released"
    assert await count("webhook_deliveries") == 1


# --- unmapped SKUs -------------------------------------------------------------------------------

async def test_an_unmapped_sku_waits_in_the_queue_and_continues_once_mapped(client, shop, ledger_db):
    from backend.domain.auth.tokens import create_token

    payload = shopify_order([("MUG", 1), ("SHOP-LAMP-RED", 2)])
    await post_shopify(client, shop.slug, payload)
    await run_import()
    order = await order_of(payload["id"])
    assert order["status"] == "imported"
    [waiting] = await o.unmapped_lines()
    assert (waiting.channel_sku, waiting.qty, waiting.order_ref) == ("SHOP-LAMP-RED", 2, order["order_ref"])
    token = await create_token("shop-sync", "write")
    r = await client.put(f"/api/v1/channels/{shop.slug}/mappings", headers={"Authorization": f"Bearer {token}"},
                         json={"mappings": [{"channel_sku": "SHOP-LAMP-RED", "sku": "LAMP"}]})
    assert r.status_code == 200, r.text
    assert (await run_import())["mapped_orders"] == 1
    detail = await o.get_order_detail(order["id"])
    assert detail.status == "released" and detail.unmapped_lines == []
    assert sorted((line.line_no, line.sku) for line in detail.lines) == [(1, "MUG"), (2, "LAMP")]
