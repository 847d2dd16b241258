"""Every ledger command on a real database (SQLite and Postgres); the ledger_db fixture checks 0 drift after each."""

from __future__ import annotations

import pytest

from backend import db
from backend.domain import errors
from backend.domain.catalog.service import get_item
from backend.domain.ledger import commands as c
from backend.domain.ledger import queries
from backend.domain.locations.service import get_location
from tests.factories import item, key, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")


async def balance(sku: str, bin_code: str, lot: str = "") -> dict:
    row = await db.fetch_one(
        "SELECT on_hand, reserved, quarantined, damaged FROM balances WHERE item_id = {} AND location_id = {}"
        " AND lot = {}",
        (await get_item(sku)).id, (await get_location(bin_code)).id, lot,
    )
    return dict(row) if row else {"on_hand": 0, "reserved": 0, "quarantined": 0, "damaged": 0}


async def run(cmd, k: str | None = None):
    return await c.execute(cmd, key=k or key(), actor="test")


async def test_receive_in_cases_stores_base_units():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 2, b1, unit="case")
    assert (await balance("MUG", b1))["on_hand"] == 48


async def test_move_between_bins():
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    await run(c.Move(sku="mug", qty=4, from_location=b1, to_location=b2))
    assert (await balance("MUG", b1))["on_hand"] == 6
    assert (await balance("MUG", b2))["on_hand"] == 4


async def test_move_more_than_available_says_how_many_and_where():
    b1, b2, b3 = await warehouse()
    await item("MUG")
    await receive("MUG", 3, b1)
    await receive("MUG", 7, b3)
    with pytest.raises(errors.InsufficientStock) as info:
        await run(c.Move(sku="MUG", qty=5, from_location=b1, to_location=b2))
    assert info.value.available == 3 and info.value.requested == 5
    assert "3 available" in info.value.message and f"{b3}: 7" in info.value.message
    assert (await balance("MUG", b1))["on_hand"] == 3  # nothing half-written


async def test_reserve_pick_ship_flow_consumes_reservation():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    res = await run(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=4, location=b1)], order_ref="SO-1"))
    assert (await balance("MUG", b1))["reserved"] == 4
    with pytest.raises(errors.InsufficientStock):
        await run(c.Move(sku="MUG", qty=7, from_location=b1, to_location="WH1-B2"))
    await run(c.Pick(reservation_id=res.reservation_ids[0], qty=4))
    assert await balance("MUG", b1) == {"on_hand": 6, "reserved": 0, "quarantined": 0, "damaged": 0}
    assert (await balance("MUG", "WH1-STAGE"))["on_hand"] == 4
    await run(c.Ship(sku="MUG", qty=4, from_location="WH1-STAGE", doc_ref="SO-1"))
    assert (await balance("MUG", "WH1-STAGE"))["on_hand"] == 0
    [r] = await queries.reservations(order_ref="SO-1")
    assert (r.status, r.open_qty) == ("consumed", 0)


async def test_pick_more_than_reserved_is_refused():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    res = await run(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=2, location=b1)]))
    with pytest.raises(errors.InvalidInput, match="only 2 open"):
        await run(c.Pick(reservation_id=res.reservation_ids[0], qty=3))


async def test_picking_to_the_bin_it_is_picked_from_is_refused():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    res = await run(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=2, location=b1)]))
    with pytest.raises(errors.InvalidInput, match=f"already in {b1}"):
        await run(c.Pick(reservation_id=res.reservation_ids[0], qty=2, to_location=b1))
    assert await balance("MUG", b1) == {"on_hand": 10, "reserved": 2, "quarantined": 0, "damaged": 0}


async def test_picking_from_a_place_outside_any_warehouse_needs_a_destination():
    await item("MUG")
    await receive("MUG", 3, "IN-TRANSIT")
    res = await run(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=1, location="IN-TRANSIT")]))
    with pytest.raises(errors.InvalidInput, match="no staging area"):
        await run(c.Pick(reservation_id=res.reservation_ids[0], qty=1))


async def test_release_reservation_frees_stock():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 5, b1)
    res = await run(c.Reserve(lines=[c.ReserveLine(sku="MUG", qty=5, location=b1)]))
    await run(c.ReleaseReservation(reservation_id=res.reservation_ids[0]))
    assert (await balance("MUG", b1))["reserved"] == 0
    with pytest.raises(errors.UnknownReservation):
        await run(c.ReleaseReservation(reservation_id=res.reservation_ids[0]))


async def test_adjust_needs_reason_code():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 5, b1)
    with pytest.raises(errors.InvalidInput, match="reason code"):
        await run(c.Adjust(sku="MUG", delta=-1, location=b1, reason="because"))
    await run(c.Adjust(sku="MUG", delta=-2, location=b1, reason="lost"))
    await run(c.Adjust(sku="MUG", delta=1, location=b1, reason="found"))
    assert (await balance("MUG", b1))["on_hand"] == 4


async def test_quarantine_release_and_scrap_damaged():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    await run(c.Quarantine(sku="MUG", qty=3, location=b1))
    await run(c.Quarantine(sku="MUG", qty=2, location=b1, state="damaged"))
    assert await balance("MUG", b1) == {"on_hand": 10, "reserved": 0, "quarantined": 3, "damaged": 2}
    assert await queries.available_by_item((await get_item("MUG")).id) == 5
    await run(c.ReleaseQuarantine(sku="MUG", qty=3, location=b1))
    await run(c.Scrap(sku="MUG", qty=2, location=b1, state="damaged"))
    assert await balance("MUG", b1) == {"on_hand": 8, "reserved": 0, "quarantined": 0, "damaged": 0}
    with pytest.raises(errors.InsufficientStock, match="0 available"):
        await run(c.ReleaseQuarantine(sku="MUG", qty=1, location=b1))


async def test_receive_damaged_goes_to_damaged_state():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 4, b1, state="damaged")
    assert await balance("MUG", b1) == {"on_hand": 4, "reserved": 0, "quarantined": 0, "damaged": 4}


async def test_reversal_references_original_and_only_once():
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    moved = await run(c.Move(sku="MUG", qty=4, from_location=b1, to_location=b2))
    rev = await run(c.Reverse(movement_id=moved.movement_ids[0], reason="scanned wrong bin"))
    assert (await balance("MUG", b1))["on_hand"] == 10
    row = await db.fetch_one("SELECT reversal_of FROM movements WHERE id = {}", rev.movement_ids[0])
    assert row["reversal_of"] == moved.movement_ids[0]
    with pytest.raises(errors.AlreadyReversed):
        await run(c.Reverse(movement_id=moved.movement_ids[0], reason="again"))


async def test_lot_tracked_item_needs_lot_and_keeps_lots_apart():
    b1, b2, _ = await warehouse()
    await item("COFFEE", lot_tracked=True)
    with pytest.raises(errors.InvalidInput, match="lot"):
        await receive("COFFEE", 5, b1)
    await receive("COFFEE", 5, b1, lot="L1")
    await receive("COFFEE", 3, b1, lot="L2")
    with pytest.raises(errors.InsufficientStock):
        await run(c.Move(sku="COFFEE", qty=4, from_location=b1, to_location=b2, lot="L2"))
    await run(c.Move(sku="COFFEE", qty=4, from_location=b1, to_location=b2, lot="L1"))
    assert (await balance("COFFEE", b1, "L1"))["on_hand"] == 1


async def test_serial_tracked_item_moves_one_unit_per_serial():
    b1, *_ = await warehouse()
    await item("PHONE", serial_tracked=True)
    with pytest.raises(errors.InvalidInput, match="quantity must be 1"):
        await receive("PHONE", 2, b1, lot="SN1")
    await receive("PHONE", 1, b1, lot="SN1")
    assert (await balance("PHONE", b1, "SN1"))["on_hand"] == 1


@pytest.mark.parametrize("qty", [0, -1, 10**12, True])
async def test_bad_quantities_are_refused(qty):
    b1, *_ = await warehouse()
    await item("MUG")
    with pytest.raises(errors.InvalidQuantity):
        await receive("MUG", qty, b1)


async def test_unit_conversion_overflow_is_refused():
    b1, *_ = await warehouse()
    await item("MUG")
    with pytest.raises(errors.InvalidQuantity, match="more than"):
        await receive("MUG", 900_000_000, b1, unit="case")


async def test_unknown_item_and_location():
    b1, *_ = await warehouse()
    await item("MUG")
    with pytest.raises(errors.UnknownItem, match="NOPE"):
        await receive("NOPE", 1, b1)
    with pytest.raises(errors.UnknownLocation):
        await receive("MUG", 1, "NO-BIN")
    with pytest.raises(errors.InvalidInput, match="not a place that holds stock"):
        await receive("MUG", 1, "WH1")


async def test_kit_has_no_own_stock_and_availability_comes_from_components():
    from tests.factories import kit

    b1, *_ = await warehouse()
    await item("MUG")
    await item("TEA")
    await kit("GIFT", {"MUG": 1, "TEA": 2})
    await receive("MUG", 10, b1)
    await receive("TEA", 7, b1)
    assert await queries.available_to_sell(await get_item("GIFT")) == 3
    with pytest.raises(errors.InvalidInput, match="kit"):
        await receive("GIFT", 1, b1)


async def test_same_key_same_payload_posts_once_and_other_payload_is_refused():
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    move = c.Move(sku="MUG", qty=2, from_location=b1, to_location=b2)
    first = await run(move, "same-key")
    again = await run(move, "same-key")
    assert again.replayed and again.movement_ids == first.movement_ids
    assert (await balance("MUG", b2))["on_hand"] == 2
    with pytest.raises(errors.IdempotencyConflict):
        await run(c.Move(sku="MUG", qty=3, from_location=b1, to_location=b2), "same-key")
    count = await db.fetch_one("SELECT COUNT(*) AS n FROM movements WHERE command_key = 'same-key'")
    assert count["n"] == 1


async def test_failed_command_leaves_its_key_unused():
    b1, b2, _ = await warehouse()
    await item("MUG")
    with pytest.raises(errors.InsufficientStock):
        await run(c.Move(sku="MUG", qty=2, from_location=b1, to_location=b2), "retry-me")
    await receive("MUG", 5, b1)
    result = await run(c.Move(sku="MUG", qty=2, from_location=b1, to_location=b2), "retry-me")
    assert not result.replayed
