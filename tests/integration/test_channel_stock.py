"""Available to sell per channel (its warehouses, what is reserved, quarantined or damaged, kits from their
components) and the drift check: what the channel holds is read, compared, corrected and reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend import db
from backend.domain import channel_sync, job_runs
from backend.domain.auth.audit import Actor
from backend.domain.channels import MappingSpec, set_mappings
from backend.domain.ledger import commands as c
from backend.domain.locations.service import NewLocation, create_location
from tests.channel_mocks import MockShopify, serving
from tests.channel_sync_support import adjust, check, connect_shopify, push, shop_levels
from tests.factories import item, key, kit, receive, warehouse

ADMIN = Actor("admin-1", role="admin")


@pytest.fixture
def shop() -> Iterator[tuple[MockShopify, str]]:
    mock = MockShopify()
    with serving(mock) as url:
        yield mock, url


async def test_reserved_quarantined_and_damaged_units_are_not_offered(ledger_db, shop):
    mock, url = shop
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    await receive("MUG", 5, b2)
    await c.execute(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=3, location=b1)]), key=key("res"), actor="test")
    await c.execute(c.Quarantine(sku="MUG", qty=2, location=b1), key=key("q"), actor="test")
    await c.execute(c.Quarantine(sku="MUG", qty=1, location=b2, state="damaged"), key=key("d"), actor="test")
    mock.add_item("MUG", qty=0)
    await connect_shopify(mock, url)
    await push()
    assert mock.qty("MUG") == 15 - 3 - 2 - 1


async def test_stock_outside_bins_is_not_offered(ledger_db, shop):
    mock, url = shop
    b1, *_ = await warehouse()
    await create_location(NewLocation(code="WH1-OLD", kind="bin", parent="WH1-Z", walk_seq=9))
    await item("MUG")
    await receive("MUG", 4, b1)
    await receive("MUG", 6, "WH1-OLD")
    await db.fetch("UPDATE locations SET active = FALSE WHERE code = 'WH1-OLD'")  # a bin taken out of use
    mock.add_item("MUG", qty=0)
    await connect_shopify(mock, url)
    await push()
    assert mock.qty("MUG") == 4


async def test_a_kit_is_offered_from_its_components_one_warehouse_at_a_time(ledger_db, shop):
    mock, url = shop
    east, west = await warehouse("EAST"), await warehouse("WEST")
    await item("MUG")
    await item("LID")
    await kit("GIFT", {"MUG": 2, "LID": 1})
    await receive("MUG", 7, east[0])  # EAST: 3 kits by mugs, 5 by lids → 3
    await receive("LID", 5, east[1])
    await receive("MUG", 10, west[0])  # WEST: mugs for 5, no lids → 0 (a kit ships from one warehouse)
    mock.add_item("GIFT", qty=0)
    mock.add_item("MUG", qty=0)
    await connect_shopify(mock, url)
    await push()
    assert shop_levels(mock) == {"GIFT": 3, "MUG": 17}
    await receive("LID", 2, west[1])
    await push()
    assert mock.qty("GIFT") == 3 + 2


async def test_a_sku_mapping_names_the_item_behind_a_channel_sku(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await item("MUG-BLUE")
    await receive("MUG-BLUE", 9, bins[0])
    mock.add_item("SHOP-MUG-1", qty=0)
    connection = await connect_shopify(mock, url)
    await set_mappings(connection.slug, [MappingSpec(sku="MUG-BLUE", channel_sku="SHOP-MUG-1")], ADMIN)
    await push()
    assert mock.qty("SHOP-MUG-1") == 9


async def test_a_dropship_mapping_is_not_stockline_stock_to_offer(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await item("SOFA")
    await receive("SOFA", 1, bins[0])
    mock.add_item("SOFA", qty=40)  # the supplier's stock, kept by the shop
    connection = await connect_shopify(mock, url)
    await set_mappings(connection.slug, [MappingSpec(sku="SOFA", channel_sku="SOFA", dropship=True)], ADMIN)
    await push()
    assert mock.qty("SOFA") == 40


async def test_the_drift_check_reads_compares_corrects_and_reports(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    for sku, qty in (("MUG", 5), ("CUP", 6), ("TEA", 7)):
        await item(sku)
        await receive(sku, qty, bins[0])
        mock.add_item(sku, qty=0)
    await connect_shopify(mock, url)
    await push()
    mock.item_of("CUP").qty = 60  # someone typed a number into the shop's admin
    mock.item_of("TEA").qty = 0
    assert (await push())["sent"] == 0  # a push alone does not know: it remembers what it sent
    report = await check()
    assert (report["listed"], report["drifted"], report["accepted"]) == (3, 2, 2)
    assert "CUP: had 60, should have 6" in report["examples"] and "TEA: had 0, should have 7" in report["examples"]
    assert shop_levels(mock) == {"MUG": 5, "CUP": 6, "TEA": 7}
    [run] = await job_runs.recent_runs(kind="check_channel_stock")
    assert run.status == "done" and ("drifted", 2) in run.result_items
    assert (await check())["drifted"] == 0


async def test_the_jobs_screen_shows_each_channels_sync(ledger_db, shop):
    mock, url = shop
    bins = await warehouse()
    await item("MUG")
    await receive("MUG", 2, bins[0])
    mock.add_item("MUG", qty=0)
    mock.add_item("UNKNOWN", qty=1)
    await connect_shopify(mock, url, buffer_units=1)
    await push()
    await adjust("MUG", 1, bins[0])
    [view] = await channel_sync.sync_overview()
    assert (view.slug, view.listings, view.unmapped, view.problems, view.rule) == ("shop", 2, 1, 0, "keep 1 back")
    assert view.pushed_at is not None and view.host.startswith("127.0.0.1:")
