"""Shipments of channel orders confirmed back to the channel: a Shopify fulfillment with the tracking
number, WooCommerce's order status and a note with it; retried with backoff until the channel accepts,
never confirmed twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backend import db
from tests.channel_mocks import MockShopify, MockWoo, serving
from tests.channel_support import (
    body_of,
    order_of,
    post_shopify,
    run_import,
    shopify_order,
    webhook_client,
    woo_headers,
    woo_order,
)
from tests.channel_sync_support import confirm, connect_shopify, connect_woo, ship_order
from tests.factories import item, receive, warehouse

TRACKING = "1Z999AA10123456784"


@pytest.fixture
def shop() -> Iterator[tuple[MockShopify, str]]:
    mock = MockShopify()
    with serving(mock) as url:
        yield mock, url


async def _stocked() -> None:
    bins = await warehouse()
    for sku in ("MUG", "LID"):
        await item(sku)
        await receive(sku, 20, bins[0])


async def _shopify_order_shipped(settings, mock: MockShopify, slug: str) -> dict:
    payload = shopify_order([("MUG", 2), ("LID", 1)])
    mock.add_order(payload["id"], {li["id"]: li["quantity"] for li in payload["line_items"]})
    async with webhook_client(settings) as client:
        assert (await post_shopify(client, slug, payload)).status_code == 200
    await run_import()
    order = await order_of(payload["id"])
    await ship_order(order["order_ref"], {"MUG": 2, "LID": 1}, TRACKING)
    return payload


async def _confirmation() -> dict:
    row = await db.fetch_one("SELECT status, attempts, last_error, remote_ref FROM channel_confirmations")
    assert row is not None
    return row


async def _lost_answer() -> None:
    """As if the channel's answer never reached Stockline: still pending, and due once its claim ran out."""
    await db.fetch("UPDATE channel_confirmations SET status = 'pending', accepted_at = NULL, next_attempt_at = {}",
                   datetime.now(UTC) - timedelta(seconds=1))


async def test_a_shipped_shopify_order_becomes_a_fulfillment_with_its_tracking_number(ledger_db, shop):
    mock, url = shop
    await _stocked()
    connection = await connect_shopify(mock, url)
    payload = await _shopify_order_shipped(ledger_db, mock, connection.slug)
    assert await confirm() == {"found": 1, "accepted": 1, "failed": 0, "waiting": 0}
    order = mock.orders[f"gid://shopify/Order/{payload['id']}"]
    assert [f["trackingInfo"][0]["number"] for f in order.fulfillments] == [TRACKING]
    assert set(order.remaining.values()) == {0}
    assert (await _confirmation())["status"] == "accepted"
    assert await confirm() == {"found": 0, "accepted": 0, "failed": 0, "waiting": 0}
    assert mock.stats.fulfillments == 1


async def test_a_confirmation_whose_answer_was_lost_is_not_made_twice(ledger_db, shop):
    mock, url = shop
    await _stocked()
    connection = await connect_shopify(mock, url)
    await _shopify_order_shipped(ledger_db, mock, connection.slug)
    await confirm()
    # Shopify created the fulfillment, but Stockline never heard (the answer was lost on the way back).
    await _lost_answer()
    assert (await confirm())["accepted"] == 1
    assert mock.stats.fulfillments == 1  # found by its tracking number, not created again


async def test_a_channel_that_fails_is_retried_with_backoff_until_it_accepts(ledger_db, shop):
    mock, url = shop
    await _stocked()
    connection = await connect_shopify(mock, url)
    await _shopify_order_shipped(ledger_db, mock, connection.slug)
    mock.fail_next(*[503] * 6)
    assert await confirm() == {"found": 1, "accepted": 0, "failed": 1, "waiting": 1}
    waiting = await _confirmation()
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1) and "503" in waiting["last_error"]
    assert (await confirm())["accepted"] == 0  # not due yet: it waits its backoff
    await db.fetch("UPDATE channel_confirmations SET next_attempt_at = {}", datetime.now(UTC) - timedelta(seconds=1))
    assert (await confirm())["accepted"] == 1
    assert mock.stats.fulfillments == 1 and (await _confirmation())["attempts"] == 2


async def test_a_shipped_woocommerce_order_is_completed_with_a_tracking_note(ledger_db):
    woo = MockWoo()
    await _stocked()
    with serving(woo) as url:
        connection = await connect_woo(url)
        payload = woo_order([("MUG", 3)])
        woo.add_order(payload["id"])
        body = body_of(payload)
        async with webhook_client(ledger_db) as client:
            r = await client.post(f"/webhooks/woocommerce/{connection.slug}", content=body,
                                  headers=woo_headers(body, "order.created"))
            assert r.status_code == 200
        await run_import()
        await ship_order((await order_of(payload["id"]))["order_ref"], {"MUG": 3}, TRACKING, carrier="DHL")
        woo.fail_next(500)  # the first request fails, the client asks again
        assert (await confirm())["accepted"] == 1
        await _lost_answer()
        assert (await confirm())["accepted"] == 1  # the note's marker is found: no second note
    order = woo.orders[payload["id"]]
    assert order.status == "completed"
    assert [n["note"] for n in order.notes] == [
        f"Shipped with DHL, tracking number {TRACKING}. (Stockline shipment 1)"]


async def test_shipments_of_other_orders_are_not_sent_anywhere(ledger_db, shop):
    from backend.domain.fulfillment import service as f
    from tests.channel_sync_support import LEAD
    from tests.factories import key

    mock, url = shop
    await _stocked()
    await connect_shopify(mock, url)
    spec = f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", 1)])
    await f.create_manual_order(spec, key=key("order"), actor=LEAD)
    await ship_order("SO-1", {"MUG": 1}, TRACKING)
    assert await confirm() == {"found": 0, "accepted": 0, "failed": 0, "waiting": 0}
    assert mock.stats.requests == 0
