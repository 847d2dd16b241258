"""On PostgreSQL, orders arriving at once for the last units: exactly as many are reserved as there
are units, the rest are backordered, nothing fails, and `stockline check` is clean."""

from __future__ import annotations

import asyncio

import pytest

from backend import db
from backend.domain import orders as o
from backend.domain.auth.audit import Actor
from tests.channel_support import count, make_channel, post_shopify, run_import, shopify_order, webhook_client
from tests.factories import item, key, receive, warehouse
from tests.integration.test_cli import stockline

ORDERS = 100
UNITS = 10
IMPORT_WORKERS = 4


@pytest.fixture
def backend() -> str:
    return "postgres"  # row locks and concurrent transactions: the production database


async def _stocked() -> None:
    bins = await warehouse(bins=2)
    await item("MUG")
    await receive("MUG", UNITS // 2, bins[0])
    await receive("MUG", UNITS - UNITS // 2, bins[1])


async def _outcome() -> tuple[int, int, int]:
    reserved = await db.fetch_one("SELECT COALESCE(SUM(reserved), 0) AS n FROM balances")
    statuses = [r["status"] for r in await db.fetch("SELECT status FROM orders")]
    return int(reserved["n"]), statuses.count("released"), statuses.count("backordered")


async def test_a_hundred_webhook_orders_for_ten_units_reserve_exactly_ten(ledger_db):
    await _stocked()
    shop = await make_channel("shopify", "Shop")
    async with webhook_client(ledger_db) as client:
        answers = await asyncio.gather(*(post_shopify(client, shop.slug, shopify_order([("MUG", 1)]))
                                         for _ in range(ORDERS)))
    assert [a.status_code for a in answers] == [200] * ORDERS
    runs = await asyncio.gather(*(run_import() for _ in range(IMPORT_WORKERS)))  # four workers at once
    assert sum(r["applied"] for r in runs) == ORDERS and sum(r["failed"] for r in runs) == 0
    assert await _outcome() == (UNITS, UNITS, ORDERS - UNITS)
    assert await count("webhook_deliveries", "status = 'applied'") == ORDERS
    check = stockline(ledger_db, "check")
    assert check.returncode == 0, check.stdout


async def test_a_hundred_api_orders_at_once_for_ten_units_reserve_exactly_ten(ledger_db):
    await _stocked()
    actor = Actor("token:erp", device="api")

    async def place(n: int) -> o.OrderChange:
        spec = o.NewOrder(order_ref=f"API-{n}", lines=[o.NewOrderLine("MUG", 1)])
        return await o.place_order(spec, key=key("api"), actor=actor)

    results = await asyncio.gather(*(place(n) for n in range(ORDERS)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await _outcome() == (UNITS, UNITS, ORDERS - UNITS)
    check = stockline(ledger_db, "check")
    assert check.returncode == 0, check.stdout
