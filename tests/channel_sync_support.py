"""Helpers for the channel sync tests: a stocked warehouse, channels connected to the local mock servers
(tests/channel_mocks.py), the push / check / confirm jobs run as the scheduler runs them, and a channel
order taken from webhook to shipped."""

from __future__ import annotations

import itertools
from typing import Any

from backend.domain import channel_sync
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment import service as f
from backend.domain.ledger import commands as c
from jobs.channels import (
    check_channel_stock,
    confirm_channel_shipments,
    push_channel_stock,
)
from jobs.runs import run_in_process
from tests.channel_mocks import MockShopify, MockWoo
from tests.channel_support import ADMIN, make_channel
from tests.factories import key

LEAD = Actor("lead-1", device="tablet-1", role="lead")
PICKER = Actor("picker-1", device="hh-1", role="picker")
_runs = itertools.count(1)


async def connect_shopify(shop: MockShopify, url: str, *, name: str = "Shop", warehouses: list[str] | None = None,
                          requests_per_s: int = 50, **rule: Any) -> channel_sync.Connection:
    channel = await make_channel("shopify", name, warehouses=warehouses)
    spec = channel_sync.ConnectionSpec(api_url=url, api_key=shop.token, location=shop.location.rsplit("/", 1)[1],
                                       requests_per_s=requests_per_s, **rule)
    return await channel_sync.connect_channel(channel.slug, spec, ADMIN)


async def connect_woo(url: str, *, name: str = "Woo", warehouses: list[str] | None = None, requests_per_s: int = 50,
                      **rule: Any) -> channel_sync.Connection:
    channel = await make_channel("woocommerce", name, warehouses=warehouses)
    spec = channel_sync.ConnectionSpec(api_url=url, api_key="ck_test", api_secret="cs_test",
                                       requests_per_s=requests_per_s, **rule)
    return await channel_sync.connect_channel(channel.slug, spec, ADMIN)


async def push() -> dict[str, Any]:
    return await run_in_process(push_channel_stock, f"event:test-push-{next(_runs)}")


async def check() -> dict[str, Any]:
    return await run_in_process(check_channel_stock, f"event:test-check-{next(_runs)}")


async def confirm() -> dict[str, int]:
    return await run_in_process(confirm_channel_shipments, f"event:test-confirm-{next(_runs)}")


async def adjust(sku: str, delta: int, bin_code: str) -> None:
    await c.execute(c.Adjust(sku=sku, delta=delta, location=bin_code, reason="found" if delta > 0 else "damaged"),
                    key=key("adj"), actor="test")


async def ship_order(order_ref: str, lines: dict[str, int], tracking: str, carrier: str = "UPS") -> None:
    """Pick, pack and ship the order's units (one carton)."""
    pick_list = await f.create_pick_list(order_ref, key=key("pl"), actor=LEAD)
    for line in pick_list.lines:
        await f.confirm_pick(pick_list.id, line.id, line.bin, line.sku, line.remaining, key=key("pick"), actor=PICKER)
    carton = await f.start_carton(order_ref, key=key("ctn"), actor=PICKER)
    for sku, qty in lines.items():
        await f.pack_scan(carton.id, sku, qty, key=key("pack"), actor=PICKER)
    await f.finish_carton(carton.id, key=key("fin"), actor=PICKER)
    await f.confirm_shipment(order_ref, carrier, tracking, key=key("ship"), actor=LEAD)


def woo_levels(woo: MockWoo) -> dict[str, int | None]:
    return {p.sku: p.qty for p in woo.products.values() if not p.variable}


def shop_levels(shop: MockShopify) -> dict[str, int | None]:
    return {i.sku: i.qty for i in shop.items.values()}
