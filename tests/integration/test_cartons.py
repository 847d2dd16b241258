"""Cartons a packer can trust (SQLite and PostgreSQL): one open carton per order, only picked units,
a scan taken back out, a carton cancelled, no order shipped half-packed; m0011 merges old duplicates."""

from __future__ import annotations

import pytest

from backend import db
from backend.domain import errors
from backend.domain.fulfillment import service as f
from backend.migrations import m0011_one_open_carton
from tests.factories import key
from tests.integration.test_fulfillment import (
    LEAD,
    MUG_GTIN,
    PICKER,
    pick_all,
    stocked_pick_list,
)

pytestmark = pytest.mark.usefixtures("ledger_db")


async def packed_counts() -> tuple[int, int]:
    row = await db.fetch_one("SELECT picked_qty, packed_qty FROM order_lines")
    return int(row["picked_qty"]), int(row["packed_qty"])


async def test_an_order_has_one_open_carton_found_again_by_its_order():
    await pick_all(await stocked_pick_list(5))
    first, resumed = await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    assert not resumed
    await f.pack_scan(first.id, "MUG", 2, key=key(), actor=PICKER)
    again, resumed = await f.carton_for_order("so-1", key=key(), actor=PICKER)
    assert (again.id, resumed, sum(line.qty for line in again.lines)) == (first.id, True, 2)
    with pytest.raises(Exception, match=r"(?i)unique"):  # the database holds it even past the domain
        await f.start_carton("SO-1", key=key(), actor=PICKER)


async def test_no_carton_opens_for_an_order_nothing_was_picked_of():
    await stocked_pick_list(5)
    with pytest.raises(errors.Conflict, match="Nothing of order SO-1 is picked yet"):
        await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    assert (await db.fetch_one("SELECT COUNT(*) AS n FROM cartons"))["n"] == 0


async def test_the_pack_view_shows_this_carton_and_what_the_order_still_needs():
    pick_list = await stocked_pick_list(5)
    line = pick_list.lines[0]
    await f.confirm_pick(pick_list.id, line.id, line.bin, "MUG", 3, key=key(), actor=PICKER)
    carton, _ = await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    await f.pack_scan(carton.id, "MUG", 1, key=key(), actor=PICKER)
    view = await f.pack_view(carton.id)
    assert (view.in_carton, view.to_pack, view.not_picked) == (1, 2, 2)


async def test_undo_takes_units_back_out_and_cancel_puts_everything_back_to_pack():
    await pick_all(await stocked_pick_list(5))
    carton, _ = await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    await f.pack_scan(carton.id, MUG_GTIN, 3, key=key(), actor=PICKER)
    after = await f.unpack(carton.id, MUG_GTIN, 1, key=key(), actor=PICKER)
    assert sum(line.qty for line in after.lines) == 2
    assert await packed_counts() == (5, 2)
    with pytest.raises(errors.InvalidQuantity, match="holds 2 MUG, not 3"):
        await f.unpack(carton.id, "MUG", 3, key=key(), actor=PICKER)
    cancelled = await f.cancel_carton(carton.id, key=key(), actor=PICKER)
    assert (cancelled.code, cancelled.units) == (carton.code, 2)
    assert await packed_counts() == (5, 0)
    assert await f.find_carton_by_code(carton.code) is None
    fresh, resumed = await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    assert not resumed and fresh.code != carton.code


async def test_an_order_with_picked_units_in_no_carton_does_not_ship():
    await pick_all(await stocked_pick_list(5))
    carton, _ = await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    await f.pack_scan(carton.id, "MUG", 1, key=key(), actor=PICKER)
    await f.finish_carton(carton.id, key=key(), actor=PICKER)
    with pytest.raises(errors.Conflict, match="4 unit\\(s\\) of order SO-1 are picked but in no carton"):
        await f.confirm_shipment(carton.code, "UPS", "1Z999AA10123456784", key=key(), actor=LEAD)
    second, _ = await f.carton_for_order("SO-1", key=key(), actor=PICKER)
    with pytest.raises(errors.Conflict, match=f"Carton {second.code} of order SO-1 is still open"):
        await f.confirm_shipment(carton.code, "UPS", "1Z999AA10123456784", key=key(), actor=LEAD)
    await f.pack_scan(second.id, "MUG", 4, key=key(), actor=PICKER)
    await f.finish_carton(second.id, key=key(), actor=PICKER)
    shipment = await f.confirm_shipment("SO-1", "UPS", "1Z999AA10123456784", key=key(), actor=LEAD)
    assert shipment.carton_codes == (carton.code, second.code)


async def test_m0011_moves_the_units_of_extra_open_cartons_into_the_oldest():
    await pick_all(await stocked_pick_list(5))
    await db.execute_ddl("DROP INDEX cartons_one_open")  # as before m0011
    cartons = [await f.start_carton("SO-1", key=key(), actor=PICKER) for _ in range(3)]
    await f.pack_scan(cartons[0].id, "MUG", 1, key=key(), actor=PICKER)
    await f.pack_scan(cartons[1].id, "MUG", 2, key=key(), actor=PICKER)
    await f.pack_scan(cartons[2].id, "MUG", 1, key=key(), actor=PICKER)
    for statement in m0011_one_open_carton.statements("postgres" if db.is_postgres() else "sqlite"):
        await db.execute_ddl(statement)
    rows = await db.fetch("SELECT c.code, cl.qty FROM cartons c JOIN carton_lines cl ON cl.carton_id = c.id")
    assert [(r["code"], int(r["qty"])) for r in rows] == [(cartons[0].code, 4)]
    assert await packed_counts() == (5, 4)
