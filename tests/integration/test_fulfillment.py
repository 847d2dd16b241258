"""Order → pick → pack → ship on a real database (SQLite and Postgres); ledger_db checks 0 drift after each."""

from __future__ import annotations

import pytest

from backend import db
from backend.domain import errors
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item
from backend.domain.fulfillment import service as f
from backend.domain.ledger import queries as ledger_queries
from backend.domain.locations.service import NewLocation, create_location, get_location
from tests.factories import item, key, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")

LEAD = Actor(label="lead-1", device="tablet-1", role="lead")
PICKER = Actor(label="picker-7", device="scanner-7", role="picker")
MUG_GTIN, MUG_CASE_GTIN = "4006381333931", "14006381333938"


async def balance(sku: str, location: str) -> dict:
    row = await db.fetch_one(
        "SELECT on_hand, reserved FROM balances WHERE item_id = {} AND location_id = {} AND lot = ''",
        (await get_item(sku)).id, (await get_location(location)).id,
    )
    return dict(row) if row else {"on_hand": 0, "reserved": 0}


async def count(table: str) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"])


async def order(ref: str, **lines: int) -> f.OrderView:
    spec = f.NewManualOrder(order_ref=ref, lines=[f.OrderLineSpec(sku, qty) for sku, qty in lines.items()])
    return await f.create_manual_order(spec, key=key("order"), actor=LEAD)


async def stocked_pick_list(qty: int = 5, ordered: int | None = None) -> f.PickListView:
    """WH1 with MUG in WH1-B1, an order SO-1 for it, and its pick list."""
    b1, *_ = await warehouse()
    await item("MUG", gtin=MUG_GTIN, case_gtin=MUG_CASE_GTIN)
    await receive("MUG", qty, b1)
    await order("SO-1", MUG=ordered or qty)
    return await f.create_pick_list("SO-1", key=key("pl"), actor=LEAD)


async def pick_all(pick_list: f.PickListView) -> None:
    for line in pick_list.lines:
        await f.confirm_pick(pick_list.id, line.id, line.bin, line.sku, line.remaining, key=key("pick"), actor=PICKER)


async def packed_carton(qty: int = 5) -> f.CartonView:
    await pick_all(await stocked_pick_list(qty))
    carton = await f.start_carton("SO-1", key=key("ctn"), actor=PICKER)
    await f.pack_scan(carton.id, MUG_GTIN, qty, key=key("pack"), actor=PICKER)
    return await f.finish_carton(carton.id, key=key("fin"), actor=PICKER)


# --- orders -------------------------------------------------------------------------------------

async def test_order_reserves_in_walk_order_and_backorders_the_rest():
    b1, _b2, b3 = await warehouse()
    await create_location(NewLocation(code="WH1-Z9", kind="bin", parent="WH1-Z", walk_seq=0))
    await item("MUG")
    await receive("MUG", 3, b3)
    await receive("MUG", 2, "WH1-Z9")
    await receive("MUG", 4, b1)
    placed = await order("SO-1", MUG=12)
    reserved = {r.location: r.open_qty for r in await ledger_queries.reservations(order_ref="SO-1")}
    assert reserved == {"WH1-Z9": 2, b1: 4, b3: 3}
    assert (placed.status, placed.lines[0].backordered_qty, placed.lines[0].allocated_qty) == ("released", 3, 9)


async def test_order_with_too_little_stock_only_reserves_what_it_needs_in_walk_order():
    b1, b2, _ = await warehouse()
    await item("MUG")
    await receive("MUG", 5, b2)
    await receive("MUG", 5, b1)
    await order("SO-1", MUG=6)
    assert (await balance("MUG", b1))["reserved"] == 5 and (await balance("MUG", b2))["reserved"] == 1


async def test_order_number_is_unique():
    await warehouse()
    await item("MUG")
    await order("SO-1", MUG=1)
    with pytest.raises(errors.AlreadyExists, match="SO-1"):
        await order("so-1", MUG=1)


# --- pick lists ---------------------------------------------------------------------------------

async def test_pick_list_lines_follow_walk_sequence_then_bin_code():
    await warehouse(bins=1)
    for code, seq in (("WH1-C", 5), ("WH1-A", 9), ("WH1-B", 5)):
        await create_location(NewLocation(code=code, kind="bin", parent="WH1-Z", walk_seq=seq))
    await item("MUG")
    await item("TEA")
    await receive("MUG", 1, "WH1-A")
    await receive("TEA", 1, "WH1-C")
    await receive("MUG", 1, "WH1-B")
    await order("SO-1", MUG=2, TEA=1)
    pick_list = await f.create_pick_list(["SO-1"], key=key(), actor=LEAD)
    assert [(line.seq, line.bin) for line in pick_list.lines] == [(1, "WH1-B"), (2, "WH1-C"), (3, "WH1-A")]
    assert (await f.get_order("SO-1")).status == "picking"


async def test_one_pick_list_walks_the_bins_of_several_orders():
    b1, b2, _ = await warehouse()
    await item("MUG")
    await item("TEA")
    await receive("MUG", 1, b2)
    await receive("TEA", 1, b1)
    await order("SO-1", MUG=1)
    await order("SO-2", TEA=1)
    pick_list = await f.create_pick_list(["SO-1", "SO-2"], key=key(), actor=LEAD)
    assert [(line.bin, line.order_ref) for line in pick_list.lines] == [(b1, "SO-2"), (b2, "SO-1")]


async def test_next_pick_line_and_open_pick_lists():
    pick_list = await stocked_pick_list()
    [summary] = await f.list_open_pick_lists()
    assert (summary.id, summary.lines_open, summary.code) == (pick_list.id, 1, f"PL-{pick_list.id:06d}")
    assert (await f.next_pick_line(pick_list.id)).id == pick_list.lines[0].id
    await pick_all(pick_list)
    assert await f.next_pick_line(pick_list.id) is None
    assert await f.list_open_pick_lists() == []


async def test_reservations_already_on_a_pick_list_are_not_listed_again():
    await stocked_pick_list()
    with pytest.raises(errors.Conflict, match="Nothing left to pick"):
        await f.create_pick_list("SO-1", key=key(), actor=LEAD)


# --- picking ------------------------------------------------------------------------------------

async def test_wrong_bin_is_blocked_and_nothing_posted():
    pick_list = await stocked_pick_list()
    line, movements = pick_list.lines[0], await count("movements")
    with pytest.raises(errors.WrongScan, match="Wrong bin: go to WH1-B1"):
        await f.confirm_pick(pick_list.id, line.id, "WH1-B2", "MUG", 1, key=key(), actor=PICKER)
    assert await count("movements") == movements
    assert (await f.next_pick_line(pick_list.id)).picked_qty == 0


async def test_wrong_item_is_blocked_and_nothing_posted():
    pick_list = await stocked_pick_list()
    await item("TEA")
    line, movements = pick_list.lines[0], await count("movements")
    with pytest.raises(errors.WrongScan, match="Wrong item: this line is SKU MUG"):
        await f.confirm_pick(pick_list.id, line.id, "WH1-B1", "TEA", 1, key=key(), actor=PICKER)
    assert await count("movements") == movements


async def test_partial_then_complete_pick_moves_stock_to_staging():
    pick_list = await stocked_pick_list(5)
    line = pick_list.lines[0]
    partial = await f.confirm_pick(pick_list.id, line.id, "WH1-B1", MUG_GTIN, 2, key=key(), actor=PICKER)
    assert (partial.picked_qty, partial.status) == (2, "open")
    done = await f.confirm_pick(pick_list.id, line.id, "WH1-B1", "mug", 3, key=key(), actor=PICKER)
    assert (done.picked_qty, done.status) == (5, "picked")
    assert await balance("MUG", "WH1-STAGE") == {"on_hand": 5, "reserved": 0}
    assert (await f.get_pick_list(pick_list.id)).status == "done"


async def test_case_barcode_picks_a_whole_case():
    pick_list = await stocked_pick_list(30)
    line = await f.confirm_pick(pick_list.id, pick_list.lines[0].id, "WH1-B1", MUG_CASE_GTIN, 1, key=key(),
                                actor=PICKER)
    assert line.picked_qty == 24


async def test_picking_more_than_the_line_is_refused():
    pick_list = await stocked_pick_list(5)
    with pytest.raises(errors.InvalidQuantity, match="needs 5 more MUG"):
        await f.confirm_pick(pick_list.id, pick_list.lines[0].id, "WH1-B1", "MUG", 6, key=key(), actor=PICKER)


async def test_short_pick_releases_reservation_and_is_listed():
    pick_list = await stocked_pick_list(5)
    line = pick_list.lines[0]
    await f.confirm_pick(pick_list.id, line.id, "WH1-B1", "MUG", 2, key=key(), actor=PICKER)
    shorted = await f.short_pick(pick_list.id, line.id, "empty_bin", key=key(), actor=PICKER)
    assert (shorted.status, shorted.short_qty) == ("short", 3)
    assert await balance("MUG", "WH1-B1") == {"on_hand": 3, "reserved": 0}  # released, not adjusted
    [short] = await f.short_picks()
    assert (short.order_ref, short.sku, short.bin, short.short_qty, short.reason) == ("SO-1", "MUG", "WH1-B1", 3,
                                                                                      "empty_bin")


async def test_short_pick_needs_a_reason_code():
    pick_list = await stocked_pick_list()
    with pytest.raises(errors.InvalidInput, match="empty_bin"):
        await f.short_pick(pick_list.id, pick_list.lines[0].id, "meh", key=key(), actor=PICKER)


# --- packing ------------------------------------------------------------------------------------

async def test_packing_an_item_not_on_the_order_is_refused():
    await pick_all(await stocked_pick_list())
    await item("TEA")
    carton = await f.start_carton("SO-1", key=key(), actor=PICKER)
    with pytest.raises(errors.WrongScan, match="TEA is not on order SO-1"):
        await f.pack_scan(carton.id, "TEA", 1, key=key(), actor=PICKER)
    assert (await f.get_carton(carton.id)).lines == ()


async def test_packing_more_than_picked_is_refused():
    pick_list = await stocked_pick_list(5)
    await f.confirm_pick(pick_list.id, pick_list.lines[0].id, "WH1-B1", "MUG", 2, key=key(), actor=PICKER)
    carton = await f.start_carton("SO-1", key=key(), actor=PICKER)
    with pytest.raises(errors.InvalidQuantity, match="Only 2 MUG picked"):
        await f.pack_scan(carton.id, "MUG", 3, key=key(), actor=PICKER)
    assert (await f.get_carton(carton.id)).lines == ()


async def test_finished_carton_has_slip_and_labels_with_its_code():
    carton = await packed_carton(5)
    assert carton.status == "closed" and carton.code == f"CTN-{carton.id:06d}"
    slip = f.packing_slip_pdf(await f.packing_slip(carton.id))
    label = await f.carton_label(carton.id)
    assert slip.startswith(b"%PDF") and carton.code.encode() in slip and b"SO-1" in slip
    assert f.carton_label_pdf(label).startswith(b"%PDF") and carton.code.encode() in f.carton_label_pdf(label)
    zpl = f.carton_label_zpl(label)
    assert zpl.startswith("^XA") and "^BC" in zpl and carton.code in zpl and zpl.rstrip().endswith("^XZ")


async def test_finishing_an_empty_carton_is_refused():
    await stocked_pick_list()
    carton = await f.start_carton("SO-1", key=key(), actor=PICKER)
    with pytest.raises(errors.InvalidInput, match="empty"):
        await f.finish_carton(carton.id, key=key(), actor=PICKER)


# --- shipping -----------------------------------------------------------------------------------

async def test_ship_confirm_moves_stock_to_customer_and_order_becomes_shipped():
    carton = await packed_carton(5)
    shipment = await f.confirm_shipment(carton.code, "UPS", "1Z999AA10123456784", key=key(), actor=LEAD)
    assert (shipment.order_ref, shipment.carton_codes) == ("SO-1", (carton.code,))
    assert await balance("MUG", "WH1-STAGE") == {"on_hand": 0, "reserved": 0}
    [ship] = await ledger_queries.movements(reason="shipment")
    assert (ship.to_location, ship.qty, ship.doc_ref) == ("CUSTOMER", 5, "SO-1")
    assert (await f.get_order("SO-1")).status == "shipped"


async def test_order_with_a_backorder_ships_partially():
    await pick_all(await stocked_pick_list(3, ordered=5))
    carton = await f.start_carton("SO-1", key=key(), actor=PICKER)
    await f.pack_scan(carton.id, "MUG", 3, key=key(), actor=PICKER)
    await f.finish_carton(carton.id, key=key(), actor=PICKER)
    await f.confirm_shipment("SO-1", "DHL", "JD0146000033", key=key(), actor=LEAD)
    assert (await f.get_order("SO-1")).status == "partially_shipped"


async def test_lot_tracked_stock_ships_the_lots_that_were_picked():
    b1, b2, _ = await warehouse()
    await item("COFFEE", lot_tracked=True)
    await receive("COFFEE", 3, b1, lot="L1")
    await receive("COFFEE", 2, b2, lot="L2")
    await order("SO-1", COFFEE=5)
    await pick_all(await f.create_pick_list("SO-1", key=key(), actor=LEAD))
    carton = await f.start_carton("SO-1", key=key(), actor=PICKER)
    packed = await f.pack_scan(carton.id, "COFFEE", 5, key=key(), actor=PICKER)
    assert [(line.lot, line.qty) for line in packed.lines] == [("L1", 3), ("L2", 2)]
    await f.finish_carton(carton.id, key=key(), actor=PICKER)
    await f.confirm_shipment(carton.code, "UPS", "1Z999AA1", key=key(), actor=LEAD)
    shipped = {(m.lot, m.qty) for m in await ledger_queries.movements(reason="shipment")}
    assert shipped == {("L1", 3), ("L2", 2)}


async def test_shipping_an_unfinished_carton_is_refused():
    await pick_all(await stocked_pick_list())
    carton = await f.start_carton("SO-1", key=key(), actor=PICKER)
    await f.pack_scan(carton.id, "MUG", 5, key=key(), actor=PICKER)
    with pytest.raises(errors.Conflict, match=f"Carton {carton.code} is not finished"):
        await f.confirm_shipment("SO-1", "UPS", "1Z999AA10123456784", key=key(), actor=LEAD)
    assert await balance("MUG", "WH1-STAGE") == {"on_hand": 5, "reserved": 0}


async def test_tracking_number_must_be_4_to_40_letters_and_digits():
    carton = await packed_carton()
    with pytest.raises(errors.InvalidInput, match="Tracking number"):
        await f.confirm_shipment(carton.code, "UPS", "1Z 99", key=key(), actor=LEAD)


# --- idempotency and audit ----------------------------------------------------------------------

async def _replay_changes_nothing(call) -> None:
    first = await call()
    tables = ("movements", "reservations", "audit_log", "orders", "pick_lists", "cartons", "carton_lines",
              "shipments", "command_log")
    before = {t: await count(t) for t in tables}
    assert await call() == first
    assert {t: await count(t) for t in tables} == before


async def test_every_command_replayed_with_the_same_key_posts_nothing_twice():
    await warehouse()
    await item("MUG", gtin=MUG_GTIN)
    await receive("MUG", 10, "WH1-B1")
    spec = f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", 6)])
    await _replay_changes_nothing(lambda: f.create_manual_order(spec, key="k-order", actor=LEAD))
    await _replay_changes_nothing(lambda: f.create_pick_list("SO-1", key="k-pl", actor=LEAD))
    pl = await f.create_pick_list("SO-1", key="k-pl", actor=LEAD)
    line_id = pl.lines[0].id
    await _replay_changes_nothing(lambda: f.confirm_pick(pl.id, line_id, "WH1-B1", MUG_GTIN, 4, key="k-pick",
                                                         actor=PICKER))
    await _replay_changes_nothing(lambda: f.short_pick(pl.id, line_id, "damaged", key="k-short", actor=PICKER))
    carton = await f.start_carton("SO-1", key="k-ctn", actor=PICKER)
    await _replay_changes_nothing(lambda: f.start_carton("SO-1", key="k-ctn", actor=PICKER))
    await _replay_changes_nothing(lambda: f.pack_scan(carton.id, "MUG", 4, key="k-pack", actor=PICKER))
    await _replay_changes_nothing(lambda: f.finish_carton(carton.id, key="k-fin", actor=PICKER))
    await _replay_changes_nothing(lambda: f.confirm_shipment(carton.code, "UPS", "1Z999AA1", key="k-ship",
                                                             actor=LEAD))
    assert (await balance("MUG", "WH1-B1"))["on_hand"] == 6


async def test_a_key_reused_for_another_request_is_refused():
    await warehouse()
    await item("MUG")
    await order("SO-1", MUG=1)
    spec = f.NewManualOrder(order_ref="SO-2", lines=[f.OrderLineSpec("MUG", 1)])
    await f.create_manual_order(spec, key="same", actor=LEAD)
    with pytest.raises(errors.IdempotencyConflict):
        await f.create_pick_list("SO-1", key="same", actor=LEAD)


async def test_every_step_writes_an_audit_row_with_the_actor():
    carton = await packed_carton()
    await f.confirm_shipment(carton.code, "UPS", "1Z999AA1", key=key(), actor=LEAD)
    rows = await db.fetch("SELECT action, actor, device FROM audit_log WHERE actor IN ({}, {}) ORDER BY id",
                          LEAD.label, PICKER.label)
    assert [r["action"] for r in rows] == ["order.create", "order.validate", "order.reserve", "order.release",
                                           "order.pick", "pick_list.create", "pick.confirm", "carton.start",
                                           "carton.pack", "carton.finish", "order.pack", "order.ship",
                                           "shipment.confirm"]
    assert rows[6]["actor"] == "picker-7" and rows[6]["device"] == "scanner-7"
    movements = await ledger_queries.movements()
    assert {m.actor for m in movements if m.reason in ("pick", "shipment")} == {"picker-7", "lead-1"}
