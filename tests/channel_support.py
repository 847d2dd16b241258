"""Helpers for channel tests: channel accounts, webhook bodies as Shopify / WooCommerce / the generic
format send them, signatures computed here from the raw bytes, and the import job."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from backend import db
from backend.domain import channels
from backend.domain.auth.audit import Actor
from backend.http.app import create_app
from backend.settings import Settings
from jobs.orders import allocate_backorders, import_channel_orders

ADMIN = Actor("admin-1", device="tablet-1", role="admin")
SECRET = "whsec-test-0123456789"
_ids = itertools.count(1001)
_deliveries = itertools.count(1)


async def make_channel(kind: str = "shopify", name: str = "Shop", *, secret: str = SECRET, priority: int = 100,
                       warehouses: list[str] | None = None, allow_split: bool = True,
                       hold_value_over_cents: int = 0) -> channels.ChannelView:
    spec = channels.NewChannel(kind=kind, name=name, secret=secret, priority=priority,  # type: ignore[arg-type]
                               warehouses=warehouses or [], allow_split=allow_split,
                               hold_value_over_cents=hold_value_over_cents)
    return await channels.create_channel(spec, ADMIN)


def shopify_order(lines: list[tuple[str, int]], *, order_id: int | None = None, version: int = 1,
                  financial_status: str = "paid", cancelled: bool = False, country: str = "US",
                  zip_code: str = "94107", total: str = "20.00") -> dict[str, Any]:
    """An order body shaped like Shopify's (the fields Stockline reads, plus a few it ignores)."""
    oid = order_id or next(_ids)
    return {
        "id": oid, "name": f"#{oid}", "order_number": oid, "email": "buyer@example.com",
        "created_at": "2026-11-20T10:00:00-05:00", "updated_at": f"2026-11-20T10:{version:02d}:00-05:00",
        "financial_status": financial_status, "cancelled_at": "2026-11-20T11:00:00-05:00" if cancelled else None,
        "total_price": total, "currency": "USD",
        "line_items": [{"id": oid * 10 + n, "sku": sku, "variant_id": 7000 + n, "product_id": 8000 + n,
                        "quantity": qty, "price": "10.00", "title": sku}
                       for n, (sku, qty) in enumerate(lines, start=1)],
        "shipping_address": {"address1": "1 Market St", "zip": zip_code, "country_code": country, "city": "SF"},
        "shipping_lines": [{"title": "UPS Ground", "code": "ups"}],
    }


def woo_order(lines: list[tuple[str, int]], *, order_id: int | None = None, version: int = 1,
              status: str = "processing") -> dict[str, Any]:
    oid = order_id or next(_ids)
    return {
        "id": oid, "number": str(oid), "status": status, "total": "20.00",
        "date_created_gmt": "2026-11-20T15:00:00", "date_modified_gmt": f"2026-11-20T15:{version:02d}:00",
        "line_items": [{"id": oid * 10 + n, "sku": sku, "product_id": 500 + n, "variation_id": 0, "quantity": qty,
                        "price": 10} for n, (sku, qty) in enumerate(lines, start=1)],
        "shipping": {"address_1": "Hauptstr. 1", "postcode": "10115", "country": "DE"},
    }


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def shopify_headers(body: bytes, topic: str, *, secret: str = SECRET, delivery: str | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": channels.base64_signature(secret, body),
            "X-Shopify-Webhook-Id": delivery or f"shop-delivery-{next(_deliveries)}"}


def woo_headers(body: bytes, topic: str, *, secret: str = SECRET, delivery: str | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": channels.base64_signature(secret, body),
            "X-WC-Webhook-Delivery-ID": delivery or f"woo-delivery-{next(_deliveries)}"}


def generic_body(topic: str, order: dict[str, Any] | None = None, refund: dict[str, Any] | None = None,
                 *, delivery: str | None = None) -> bytes:
    payload: dict[str, Any] = {"delivery_id": delivery or f"gen-{next(_deliveries)}", "topic": topic}
    if order is not None:
        payload["order"] = order
    if refund is not None:
        payload["refund"] = refund
    return body_of(payload)


def generic_headers(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Stockline-Signature": channels.generic_signature(secret, body, at or int(time.time()))}


@asynccontextmanager
async def webhook_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app without background jobs: tests run the import job themselves, when they choose."""
    app = create_app(settings, run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stockline.test") as client:
        yield client


async def post_shopify(client: httpx.AsyncClient, slug: str, payload: dict[str, Any], topic: str = "orders/create",
                       **kwargs: Any) -> httpx.Response:
    body = body_of(payload)
    return await client.post(f"/webhooks/shopify/{slug}", content=body, headers=shopify_headers(body, topic, **kwargs))


async def run_import() -> dict[str, int]:
    return await import_channel_orders()


async def run_backorders() -> dict[str, int]:
    return await allocate_backorders()


async def count(table: str, where: str = "", *args: Any) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {where}" if where else ""), *args)
    assert row is not None
    return int(row["n"])


async def order_of(external_id: int | str) -> dict[str, Any]:
    row = await db.fetch_one("SELECT id, order_ref, status FROM orders WHERE external_ref = {}", str(external_id))
    assert row is not None, f"no order for channel order {external_id}"
    return row
