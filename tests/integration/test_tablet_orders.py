"""The lead's "new order" on the tablet: the order and its pick list are one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend import db
from backend.http.app import create_app
from tests.factories import item, receive, warehouse
from tests.sync_support import csrf_client, sign_in


@pytest.fixture
async def lead(ledger_db) -> AsyncIterator[httpx.AsyncClient]:
    async with csrf_client(create_app(ledger_db, run_jobs=False)) as c:
        await sign_in(c, "lead")
        yield c


async def _count(table: str) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")
    assert row is not None
    return row["n"]


async def test_an_order_whose_pick_list_is_refused_leaves_nothing_behind(lead):
    await warehouse()
    await item("MUG")  # no stock: the order would be all backordered, so there is nothing to pick
    r = await lead.post("/tablet/orders", data={"key": "k-1", "order_ref": "WEB-1", "lines": "MUG 3"},
                        headers={"HX-Request": "true"})
    assert r.status_code == 409, r.text
    assert "Nothing left to pick" in r.text
    for table in ("orders", "order_lines", "pick_lists", "reservations"):
        assert await _count(table) == 0, table
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM command_log WHERE key LIKE {}", "%k-1%")
    assert row is not None and row["n"] == 0  # neither key is claimed: the same form can be sent again


async def test_an_order_with_stock_gets_its_pick_list(lead):
    bins = await warehouse()
    await item("MUG")
    await receive("MUG", 5, bins[0])
    r = await lead.post("/tablet/orders", data={"key": "k-2", "order_ref": "WEB-2", "lines": "MUG 3"},
                        headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert "Order WEB-2 reserved; pick list #" in r.text
    assert (await _count("orders"), await _count("pick_lists")) == (1, 1)
