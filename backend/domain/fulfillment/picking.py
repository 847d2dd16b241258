"""Pick lists and scan-driven picking.

A pick list line is one open reservation (one item, bin and lot of one order line). Confirming
a pick posts the ledger `Pick`, which consumes the reservation and moves the stock to the
warehouse's staging area. A short pick releases what is left of the reservation and leaves the
stock alone: the bin may simply be miscounted, so a lead decides (count, adjust, re-reserve).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from backend import db
from backend.domain import orders as lifecycle
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item_by_id
from backend.domain.errors import Conflict, InvalidInput, InvalidQuantity
from backend.domain.fulfillment.allocation import PickCandidate, pick_sequence
from backend.domain.fulfillment.queries import (
    OrderView,
    PickLineView,
    PickListView,
    get_order,
    get_pick_line,
    get_pick_list,
)
from backend.domain.fulfillment.rules import PICK_LIST_ORDERS_MAX, check_short_reason, order_ref_key
from backend.domain.fulfillment.scans import require_bin, require_item
from backend.domain.idempotency import derived_key, read_again, run_once
from backend.domain.ledger import commands as ledger
from backend.domain.locations.service import get_location, get_location_by_id
from backend.domain.quantities import require_qty


def _refs(order_refs: str | Sequence[str]) -> list[str]:
    refs = [order_refs] if isinstance(order_refs, str) else list(order_refs)
    unique = list({order_ref_key(r): r.strip() for r in refs if r.strip()}.values())
    if not unique or len(unique) > PICK_LIST_ORDERS_MAX:
        raise InvalidInput(f"A pick list covers 1–{PICK_LIST_ORDERS_MAX} orders.")
    return unique


async def _pickable_orders(refs: list[str]) -> list[OrderView]:
    orders = [await get_order(ref) for ref in refs]
    for order in orders:
        if order.status not in lifecycle.PICKABLE:
            raise Conflict(f"Order {order.order_ref} is {order.status.replace('_', ' ')}; there is nothing to pick.")
    if len({o.warehouse for o in orders}) > 1:
        raise InvalidInput("These orders ship from different warehouses: make one pick list per warehouse.")
    return orders


async def _candidates(order_ids: list[int], warehouse_id: int) -> list[PickCandidate]:
    """Open reservations of the orders in this warehouse (a split order's other warehouse picks its own)."""
    marks = ", ".join("{}" for _ in order_ids)
    rows = await db.fetch(
        "SELECT r.id AS reservation_id, ol.id AS order_line_id, ol.order_id, ol.line_no, r.item_id,"
        " r.location_id, l.code AS location, l.walk_seq, r.lot, r.open_qty AS qty"
        " FROM order_reservations orr JOIN reservations r ON r.id = orr.reservation_id"
        " JOIN order_lines ol ON ol.id = orr.order_line_id JOIN locations l ON l.id = r.location_id"
        f" WHERE ol.order_id IN ({marks}) AND r.status = 'open' AND r.open_qty > 0 AND l.warehouse_id = {{}}"
        " AND NOT EXISTS (SELECT 1 FROM pick_list_lines pl WHERE pl.reservation_id = r.id)",
        *order_ids, warehouse_id,
    )
    return pick_sequence([PickCandidate(**r) for r in rows])


async def _insert_pick_list(warehouse_id: int, lines: list[PickCandidate], key: str) -> int:
    row = await db.fetch_one(
        "INSERT INTO pick_lists (warehouse_id, status, create_key, created_at) VALUES ({}, 'open', {}, {})"
        " RETURNING id",
        warehouse_id, key, datetime.now(UTC),
    )
    assert row is not None
    for seq, c in enumerate(lines, start=1):
        await db.fetch(
            "INSERT INTO pick_list_lines (pick_list_id, seq, order_line_id, reservation_id, item_id, location_id,"
            " lot, qty) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            row["id"], seq, c.order_line_id, c.reservation_id, c.item_id, c.location_id, c.lot, c.qty,
        )
    return int(row["id"])


async def create_pick_list(order_refs: str | Sequence[str], *, key: str, actor: Actor) -> PickListView:
    """A pick list of every open reservation of the orders not yet on a pick list, in walk order."""
    refs = _refs(order_refs)

    async def work() -> PickListView:
        orders = await _pickable_orders(refs)
        warehouse = await get_location(orders[0].warehouse)
        lines = await _candidates([o.id for o in orders], warehouse.id)
        if not lines:
            names = ", ".join(o.order_ref for o in orders)
            raise Conflict(f"Nothing left to pick for {names}: no open reservations off a pick list.")
        pick_list_id = await _insert_pick_list(warehouse.id, lines, key)
        for order in orders:
            if (order.status, "pick") in lifecycle.TRANSITIONS:  # released or packed; already picking stays so
                await lifecycle.transition(order.id, "pick", actor=actor, from_status=order.status,  # type: ignore[arg-type]
                                           order_ref=order.order_ref, detail={"pick_list": pick_list_id})
        after = {"orders": [o.order_ref for o in orders], "lines": len(lines)}
        await audit.record(actor, "pick_list.create", "pick_list", pick_list_id, None, after)
        return await get_pick_list(pick_list_id)

    async def replay() -> PickListView:
        row = await db.fetch_one("SELECT id FROM pick_lists WHERE create_key = {}", key)
        assert row is not None, "a pick list key was claimed without its pick list"
        return await get_pick_list(row["id"])

    payload = {"order_refs": sorted(order_ref_key(r) for r in refs)}
    return await run_once("fulfillment.create_pick_list", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(replay))


async def _open_line(pick_list_id: int, line_id: int) -> tuple[PickLineView, dict[str, Any]]:
    view = await get_pick_line(pick_list_id, line_id)
    if view.status != "open":
        raise Conflict(f"Line {view.seq} ({view.sku} in {view.bin}) is already {view.status}. Go to the next line.")
    row = await db.fetch_one(
        "SELECT pl.reservation_id, pl.item_id, pl.location_id, ol.id AS order_line_id FROM pick_list_lines pl"
        " JOIN order_lines ol ON ol.id = pl.order_line_id WHERE pl.id = {}",
        line_id,
    )
    assert row is not None
    return view, row


async def _close_list_when_done(pick_list_id: int) -> None:
    await db.fetch(
        "UPDATE pick_lists SET status = 'done' WHERE id = {} AND status = 'open'"
        " AND NOT EXISTS (SELECT 1 FROM pick_list_lines WHERE pick_list_id = {} AND status = 'open')",
        pick_list_id, pick_list_id,
    )


async def _record_pick(line: PickLineView, order_line_id: int, picked: int) -> None:
    updated = await db.fetch(
        "UPDATE pick_list_lines SET picked_qty = picked_qty + {},"
        " status = CASE WHEN picked_qty + {} = qty THEN 'picked' ELSE status END"
        " WHERE id = {} AND status = 'open' AND picked_qty + {} <= qty RETURNING id",
        picked, picked, line.id, picked,
    )
    if not updated:  # relative guard: two pickers sharing a line may both add, never past the line
        raise Conflict("Someone else picked this line while you worked. Reload the pick list.")
    await db.fetch("UPDATE order_lines SET picked_qty = picked_qty + {} WHERE id = {}", picked, order_line_id)
    await _close_list_when_done(line.pick_list_id)


async def _checked_pick(pick_list_id: int, line_id: int, scanned_bin: str, scanned_item_code: str,
                        qty: int) -> tuple[PickLineView, dict[str, Any], int]:
    """The open line, its row and the base units the scan picks; the bin and the item must match the line."""
    line, row = await _open_line(pick_list_id, line_id)
    await require_bin(scanned_bin, await get_location_by_id(row["location_id"]))
    scan = await require_item(scanned_item_code, await get_item_by_id(row["item_id"]), line.lot)
    picked = scan.base_qty(qty)
    if picked > line.remaining:
        # Nothing is recorded, so there is nothing to put back: say what to scan instead.
        pack = f" (a pack of {scan.base_per_scan})" if scan.base_per_scan > 1 else ""
        raise InvalidQuantity(
            f"Too many: line {line.seq} needs {line.remaining} more {line.sku}, that scan is {picked}{pack}."
            f" Nothing was picked: take {line.remaining} and scan them one by one, or type {line.remaining}"
            " as the quantity and scan one."
        )
    return line, row, picked


async def check_pick(pick_list_id: int, line_id: int, scanned_bin: str, scanned_item_code: str,
                     qty: int) -> PickLineView:
    """What `confirm_pick` refuses, with reads only, and the line as it reads once the pick is confirmed
    (the handheld shows it while the step is sent)."""
    require_qty(qty)
    line, _, picked = await _checked_pick(pick_list_id, line_id, scanned_bin, scanned_item_code, qty)
    done = line.picked_qty + picked + line.short_qty == line.qty
    return dataclasses.replace(line, picked_qty=line.picked_qty + picked, status="picked" if done else line.status)


async def confirm_pick(pick_list_id: int, line_id: int, scanned_bin: str, scanned_item_code: str, qty: int,
                       *, key: str, actor: Actor) -> PickLineView:
    """Confirm `qty` scanned units (a case barcode counts as a case) of a line; less than the line is fine.

    The bin and the item must match the line, else WrongScan and nothing is written.
    """
    require_qty(qty)

    async def work() -> PickLineView:
        line, row, picked = await _checked_pick(pick_list_id, line_id, scanned_bin, scanned_item_code, qty)
        pick = ledger.Pick(reservation_id=row["reservation_id"], qty=picked, doc_ref=line.order_ref)
        await ledger.execute(pick, key=derived_key(key, "pick"), actor=actor.label)
        await _record_pick(line, row["order_line_id"], picked)
        after = await get_pick_line(pick_list_id, line_id)
        await audit.record(actor, "pick.confirm", "pick_list_line", line_id,
                           {"picked_qty": line.picked_qty, "status": line.status},
                           {"picked_qty": after.picked_qty, "status": after.status, "qty": picked,
                            "sku": line.sku, "bin": line.bin, "order_ref": line.order_ref})
        return after

    payload = {"pick_list_id": pick_list_id, "line_id": line_id, "bin": scanned_bin.strip(),
               "item": scanned_item_code.strip(), "qty": qty}
    return await run_once("fulfillment.confirm_pick", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(lambda: get_pick_line(pick_list_id, line_id)))


async def _record_short(line: PickLineView, order_line_id: int, reason: str) -> None:
    updated = await db.fetch(
        "UPDATE pick_list_lines SET short_qty = {}, short_reason = {}, status = 'short', shorted_at = {}"
        " WHERE id = {} AND status = 'open' AND picked_qty = {} RETURNING id",
        line.remaining, reason, datetime.now(UTC), line.id, line.picked_qty,
    )
    if not updated:
        raise Conflict("Someone else changed this line while you worked. Reload the pick list.")
    await db.fetch("UPDATE order_lines SET short_qty = short_qty + {} WHERE id = {}", line.remaining, order_line_id)
    await _close_list_when_done(line.pick_list_id)


async def short_pick(pick_list_id: int, line_id: int, reason: str, *, key: str, actor: Actor) -> PickLineView:
    """Close a line as short: release what is still reserved and list it for a lead (`short_picks()`).

    Stock is not adjusted here: a short pick is a claim about the bin, not a count.
    """
    reason = check_short_reason(reason)

    async def work() -> PickLineView:
        line, row = await _open_line(pick_list_id, line_id)
        release = ledger.ReleaseReservation(reservation_id=row["reservation_id"], qty=line.remaining,
                                            reason=f"short_pick: {reason}", doc_ref=line.order_ref)
        await ledger.execute(release, key=derived_key(key, "release"), actor=actor.label)
        await _record_short(line, row["order_line_id"], reason)
        after = await get_pick_line(pick_list_id, line_id)
        await audit.record(actor, "pick.short", "pick_list_line", line_id,
                           {"picked_qty": line.picked_qty, "status": line.status},
                           {"short_qty": after.short_qty, "reason": reason, "status": after.status,
                            "sku": line.sku, "bin": line.bin, "order_ref": line.order_ref})
        return after

    payload = {"pick_list_id": pick_list_id, "line_id": line_id, "reason": reason}
    return await run_once("fulfillment.short_pick", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(lambda: get_pick_line(pick_list_id, line_id)))
