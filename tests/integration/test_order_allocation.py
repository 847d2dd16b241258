"""Allocation across warehouses on a real database (SQLite and PostgreSQL): ship complete, nearest,
split (picked, packed and shipped per warehouse), no split, channel priority, backorders allocated
when stock arrives, dropship lines, holds and cancellation. `ledger_db` checks 0 drift after each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend import db
from backend.domain import errors
from backend.domain import orders as o
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment import service as f
from tests.channel_support import make_channel, post_shopify, run_backorders, run_import, shopify_order, webhook_client
from tests.factories import item, key, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")

API = Actor("token:erp", device="api")
LEAD = Actor("lead-1", device="tablet-1", role="lead")
PICKER = Actor("picker-7", device="scanner-7", role="picker")


async def _two_warehouses() -> None:
    await warehouse("EAST", bins=2)
    await warehouse("WEST", bins=2)
    await item("MUG")
    await item("LAMP")
    # WEST is near San Francisco (postcodes 94…); EAST covers the whole US, further away.
    await o.set_region(o.RegionSpec("WEST", "US", "94", 1), LEAD)
    await o.set_region(o.RegionSpec("EAST", "US", "", 5), LEAD)


async def _place(lines: dict[str, int], *, channel: str = "", postcode: str = "94107", ref: str | None = None,
                 payment: str = "captured", total_cents: int = 0, promised_at: datetime | None = None,
                 dropship: tuple[str, ...] = ()) -> o.OrderDetail:
    spec = o.NewOrder(order_ref=ref or key("SO"), channel=channel, payment=payment,  # type: ignore[arg-type]
                      lines=[o.NewOrderLine(sku, qty, dropship=sku in dropship) for sku, qty in lines.items()],
                      ship_to=o.ShipTo("US", postcode, "1 Main St"), total_cents=total_cents, promised_at=promised_at)
    change = await o.place_order(spec, key=key("api"), actor=API)
    return await o.get_order_detail(change.order_id)


def _where(detail: o.OrderDetail) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in detail.reservations:
        if r.status == "open":
            out.setdefault(r.sku, {}).setdefault(r.warehouse, 0)
            out[r.sku][r.warehouse] += r.open_qty
    return out


async def test_ship_complete_from_one_warehouse_beats_the_nearest():
    await _two_warehouses()
    await make_channel("shopify", "Shop", warehouses=["WEST", "EAST"])
    await receive("MUG", 5, "WEST-B1")
    await receive("MUG", 5, "EAST-B1")
    await receive("LAMP", 5, "EAST-B2")
    detail = await _place({"MUG": 1, "LAMP": 1}, channel="shop")
    assert _where(detail) == {"MUG": {"EAST": 1}, "LAMP": {"EAST": 1}}
    assert (detail.status, detail.warehouse) == ("released", "EAST")
    assert all(a.reason.startswith("ship complete from EAST: the only warehouse") for a in detail.allocations)


async def test_the_nearest_warehouse_to_the_destination_ships_when_several_could():
    await _two_warehouses()
    await make_channel("shopify", "Shop", warehouses=["EAST", "WEST"])
    await receive("MUG", 5, "WEST-B1")
    await receive("MUG", 5, "EAST-B1")
    near_sf = await _place({"MUG": 1}, channel="shop", postcode="94107")
    near_ny = await _place({"MUG": 1}, channel="shop", postcode="10001")
    assert (_where(near_sf), _where(near_ny)) == ({"MUG": {"WEST": 1}}, {"MUG": {"EAST": 1}})
    assert "nearest to US 94107 of 2" in near_sf.allocations[0].reason


async def test_an_order_no_warehouse_can_complete_is_split_and_each_warehouse_picks_packs_and_ships_its_part():
    await _two_warehouses()
    await make_channel("shopify", "Shop", warehouses=["EAST", "WEST"])
    await receive("MUG", 2, "WEST-B1")
    await receive("MUG", 2, "EAST-B1")
    detail = await _place({"MUG": 3}, channel="shop")
    assert _where(detail) == {"MUG": {"WEST": 2, "EAST": 1}}
    assert "split: no warehouse holds every line; 2 from WEST, 1 from EAST" in detail.allocations[0].reason
    run = await o.build_waves(key=key("waves"), actor=LEAD)
    assert sorted((w.warehouse, w.orders) for w in run.waves) == [("EAST", 1), ("WEST", 1)]
    for wave in run.waves:
        [pick_list_id] = wave.pick_list_ids
        for line in (await f.get_pick_list(pick_list_id)).lines:
            await f.confirm_pick(pick_list_id, line.id, line.bin, line.sku, line.remaining, key=key(), actor=PICKER)
        carton = await f.start_carton(detail.order_ref, key=key(), actor=PICKER)
        await f.pack_scan(carton.id, "MUG", sum(li.qty for li in (await f.get_pick_list(pick_list_id)).lines),
                          key=key(), actor=PICKER)
        await f.finish_carton(carton.id, key=key(), actor=PICKER)
        await f.confirm_shipment(carton.code, "UPS", "1Z999AA1", key=key(), actor=PICKER)
    assert (await o.get_order_detail(detail.id)).status == "shipped"
    stages = await db.fetch("SELECT l.code, b.on_hand FROM balances b JOIN locations l ON l.id = b.location_id"
                            " WHERE l.kind = 'staging'")
    assert {r["code"]: r["on_hand"] for r in stages} == {"EAST-STAGE": 0, "WEST-STAGE": 0}


async def test_a_channel_that_does_not_split_waits_for_stock_in_the_nearest_warehouse():
    await _two_warehouses()
    await make_channel("shopify", "Shop", warehouses=["EAST", "WEST"], allow_split=False)
    await receive("MUG", 1, "WEST-B1")
    await receive("MUG", 2, "EAST-B1")
    detail = await _place({"MUG": 3}, channel="shop")
    assert (_where(detail), detail.status) == ({"MUG": {"WEST": 1}}, "backordered")
    await receive("MUG", 5, "EAST-B2")
    assert (await run_backorders())["units"] == 0  # not split: EAST's stock is not for this order
    await receive("MUG", 2, "WEST-B2")
    assert (await run_backorders())["units"] == 2
    detail = await o.get_order_detail(detail.id)
    assert (_where(detail), detail.status) == ({"MUG": {"WEST": 3}}, "released")


async def test_the_priority_channel_wins_the_last_unit(ledger_db):
    await _two_warehouses()
    await receive("MUG", 1, "EAST-B1")
    marketplace = await make_channel("shopify", "Marketplace", priority=100)
    own_store = await make_channel("shopify", "Own store", priority=10)
    low, high = shopify_order([("MUG", 1)]), shopify_order([("MUG", 1)])
    async with webhook_client(ledger_db) as client:
        await post_shopify(client, marketplace.slug, low)  # arrives first
        await post_shopify(client, own_store.slug, high)
    await run_import()
    statuses = {r["external_ref"]: r["status"] for r in await db.fetch("SELECT external_ref, status FROM orders")}
    assert statuses == {str(high["id"]): "released", str(low["id"]): "backordered"}


async def test_backorders_are_allocated_when_stock_arrives_oldest_promise_first():
    await _two_warehouses()
    now = datetime.now(UTC)
    newer = await _place({"MUG": 2}, promised_at=now)
    older = await _place({"MUG": 2}, promised_at=now - timedelta(days=2))
    assert (newer.status, older.status) == ("backordered", "backordered")
    assert newer.allocations[0].reason == "2 backordered: not enough in WEST, EAST"  # nearest first
    await receive("MUG", 3, "EAST-B1")
    assert (await run_backorders())["units"] == 3
    newer, older = await o.get_order_detail(newer.id), await o.get_order_detail(older.id)
    assert (older.status, _where(older)) == ("released", {"MUG": {"EAST": 2}})
    assert (newer.status, _where(newer), newer.lines[0].backordered_qty) == ("backordered", {"MUG": {"EAST": 1}}, 1)
    assert newer.allocations[-1].reason.startswith("stock arrived: ")
    assert (await run_backorders())["units"] == 0  # nothing left to give: a second run changes nothing
    assert len((await o.get_order_detail(newer.id)).allocations) == 2


async def test_dropship_lines_never_reserve_and_the_order_ships_without_them():
    await _two_warehouses()
    await receive("LAMP", 1, "EAST-B1")
    detail = await _place({"MUG": 4, "LAMP": 1}, dropship=("MUG",))
    assert (_where(detail), detail.status) == ({"LAMP": {"EAST": 1}}, "released")
    assert [line.backordered_qty for line in detail.lines] == [0, 0]
    run = await o.build_waves(key=key("waves"), actor=LEAD)
    [pick_list_id] = run.waves[0].pick_list_ids
    [line] = (await f.get_pick_list(pick_list_id)).lines
    await f.confirm_pick(pick_list_id, line.id, line.bin, "LAMP", 1, key=key(), actor=PICKER)
    carton = await f.start_carton(detail.order_ref, key=key(), actor=PICKER)
    await f.pack_scan(carton.id, "LAMP", 1, key=key(), actor=PICKER)
    await f.finish_carton(carton.id, key=key(), actor=PICKER)
    assert (await o.get_order_detail(detail.id)).status == "packed"
    await f.confirm_shipment(carton.code, "DHL", "JD0146000033", key=key(), actor=PICKER)
    assert (await o.get_order_detail(detail.id)).status == "shipped"


@pytest.mark.parametrize("rule", ["payment", "value", "address"])
async def test_hold_rules_keep_the_reservation_until_a_manager_releases_with_a_note(rule):
    await _two_warehouses()
    await make_channel("shopify", "Shop", hold_value_over_cents=100_00)
    await receive("MUG", 5, "EAST-B1")
    kwargs = {"payment": {"payment": "pending"}, "value": {"total_cents": 250_00},
              "address": {"postcode": ""}}[rule]
    detail = await _place({"MUG": 1}, channel="shop", **kwargs)  # type: ignore[arg-type]
    expected = {"payment": "payment_not_captured", "value": "value_over_threshold",
                "address": "address_incomplete"}[rule]
    assert (detail.status, [h.reason for h in detail.open_holds], _where(detail)) == (
        "on_hold", [expected], {"MUG": {"EAST": 1}})
    with pytest.raises(errors.InvalidInput, match="note"):
        await o.release_hold(detail.id, " ", key=key(), actor=LEAD)
    change = await o.release_hold(detail.id, "Called the customer", key=key(), actor=LEAD)
    assert change.status == "released"
    detail = await o.get_order_detail(detail.id)
    assert detail.holds[0].release_note == "Called the customer" and detail.holds[0].released_by == "lead-1"
    assert [e.action for e in detail.timeline][-4:] == ["order.holds_released", "order.release_hold",
                                                        "order.reserve", "order.release"]


async def test_cancel_releases_the_reservations_and_is_refused_once_picking_started():
    await _two_warehouses()
    await receive("MUG", 5, "EAST-B1")
    first, second = await _place({"MUG": 2}), await _place({"MUG": 2})
    cancelled = await o.cancel_order(first.id, "customer changed their mind", key=key(), actor=LEAD)
    assert cancelled.status == "cancelled"
    row = await db.fetch_one("SELECT reserved FROM balances WHERE reserved > 0")
    assert row is not None and row["reserved"] == 2  # only the second order's units are still held
    await o.build_waves(key=key("waves"), actor=LEAD)
    with pytest.raises(errors.IllegalTransition, match="is picking: it cannot be cancelled"):
        await o.cancel_order(second.id, "", key=key(), actor=LEAD)
    assert (await o.get_order_detail(second.id)).status == "picking"


async def test_a_manual_hold_keeps_a_released_order_off_the_floor_until_released():
    await _two_warehouses()
    await receive("MUG", 5, "EAST-B1")
    detail = await _place({"MUG": 1})
    assert (await o.hold_order(detail.id, "fraud check", key=key(), actor=LEAD)).status == "on_hold"
    with pytest.raises(errors.Conflict, match="No released order"):
        await o.build_waves(key=key("waves"), actor=LEAD)
    await o.release_hold(detail.id, "fraud check passed", key=key(), actor=LEAD)
    assert (await o.build_waves(key=key("waves"), actor=LEAD)).orders == 1
