"""Packing picked stock into cartons.

Packing does not move stock. Picked units sit in the warehouse's staging location from the
pick until the shipment; a carton is a packing record (which order lines and lots are in which
box), not a ledger location. Stock leaves staging only when a carton ships (ledger `Ship`), so
the ledger has one movement per physical hand-over and no carton locations to clean up when a
box is repacked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from backend import db
from backend.domain import orders as lifecycle
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, InvalidInput, InvalidQuantity, WrongScan
from backend.domain.fulfillment.allocation import take_in_order
from backend.domain.fulfillment.queries import CartonView, OrderView, get_carton, get_carton_by_key, get_order
from backend.domain.fulfillment.rules import carton_code, order_ref_key
from backend.domain.fulfillment.scans import ItemScan, find_item_scan
from backend.domain.idempotency import read_again, run_once
from backend.domain.locations.service import get_location
from backend.domain.quantities import require_qty


async def _carton_warehouse(order: OrderView) -> int:
    """Where the carton is packed: the warehouse holding picked, unpacked units of the order (a split
    order is packed in each of its warehouses), the order's own warehouse first."""
    rows = await db.fetch(
        "SELECT p.warehouse_id, SUM(pl.picked_qty) AS units FROM pick_list_lines pl"
        " JOIN pick_lists p ON p.id = pl.pick_list_id JOIN order_lines ol ON ol.id = pl.order_line_id"
        " WHERE ol.order_id = {} GROUP BY p.warehouse_id"
        " UNION ALL SELECT c.warehouse_id, -SUM(cl.qty) FROM carton_lines cl JOIN cartons c ON c.id = cl.carton_id"
        " WHERE c.order_id = {} GROUP BY c.warehouse_id",
        order.id, order.id,
    )
    unpacked: dict[int, int] = {}
    for r in rows:
        if r["warehouse_id"] is not None:
            unpacked[r["warehouse_id"]] = unpacked.get(r["warehouse_id"], 0) + int(r["units"])
    own = (await get_location(order.warehouse)).id
    waiting = [wid for wid, units in sorted(unpacked.items()) if units > 0]
    return own if own in waiting or not waiting else waiting[0]


async def _insert_carton(order_id: int, warehouse_id: int, key: str) -> int:
    # The code is derived from the id, which exists only after the insert; the key stands in
    # for it meanwhile (unique, never visible outside this transaction).
    row = await db.fetch_one(
        "INSERT INTO cartons (code, order_id, status, create_key, created_at, warehouse_id)"
        " VALUES ({}, {}, 'open', {}, {}, {}) RETURNING id",
        f"pending:{key}", order_id, key, datetime.now(UTC), warehouse_id,
    )
    assert row is not None
    await db.fetch("UPDATE cartons SET code = {} WHERE id = {}", carton_code(row["id"]), row["id"])
    return int(row["id"])


async def start_carton(order_ref: str, *, key: str, actor: Actor) -> CartonView:
    """Open a new carton (code CTN-000123) for an order; an order may fill several cartons."""

    async def work() -> CartonView:
        order = await get_order(order_ref)
        if order.status not in lifecycle.PACKABLE:
            raise Conflict(f"Order {order.order_ref} is {order.status.replace('_', ' ')}; there is nothing to pack.")
        carton_id = await _insert_carton(order.id, await _carton_warehouse(order), key)
        carton = await get_carton(carton_id)
        await audit.record(actor, "carton.start", "carton", carton_id, None,
                           {"code": carton.code, "order_ref": order.order_ref})
        return carton

    payload = {"order_ref": order_ref_key(order_ref)}
    return await run_once("fulfillment.start_carton", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(lambda: get_carton_by_key(key)))


async def _open_carton(carton_id: int) -> CartonView:
    carton = await get_carton(carton_id)
    if carton.status != "open":
        raise Conflict(f"Carton {carton.code} is {carton.status}. Start a new carton to pack more.")
    return carton


async def _packable(order_id: int, scan: ItemScan, warehouse_id: int) -> list[tuple[tuple[int, str], int]]:
    """Picked in the carton's warehouse but not yet packed there, per (order line, lot), in line order."""
    picked = await db.fetch(
        "SELECT pl.order_line_id, ol.line_no, pl.lot, SUM(pl.picked_qty) AS qty FROM pick_list_lines pl"
        " JOIN order_lines ol ON ol.id = pl.order_line_id JOIN pick_lists p ON p.id = pl.pick_list_id"
        " WHERE ol.order_id = {} AND ol.item_id = {} AND p.warehouse_id = {}"
        " GROUP BY pl.order_line_id, ol.line_no, pl.lot",
        order_id, scan.item.id, warehouse_id,
    )
    packed = {
        (r["order_line_id"], r["lot"]): int(r["qty"])
        for r in await db.fetch(
            "SELECT cl.order_line_id, cl.lot, SUM(cl.qty) AS qty FROM carton_lines cl"
            " JOIN order_lines ol ON ol.id = cl.order_line_id JOIN cartons c ON c.id = cl.carton_id"
            " WHERE ol.order_id = {} AND ol.item_id = {} AND c.warehouse_id = {}"
            " GROUP BY cl.order_line_id, cl.lot",
            order_id, scan.item.id, warehouse_id,
        )
    }
    rows = sorted(picked, key=lambda r: (r["line_no"], r["lot"]))
    return [
        ((r["order_line_id"], r["lot"]), int(r["qty"]) - packed.get((r["order_line_id"], r["lot"]), 0))
        for r in rows
        if not scan.lot or r["lot"] == scan.lot
    ]


async def _scan_on_order(carton: CartonView, order_id: int, code: str) -> ItemScan:
    scan = await find_item_scan(code)
    if scan is None:
        raise WrongScan(f"Wrong item: {code.strip()!r} is not a known barcode or SKU. Scan the item label.")
    on_order = await db.fetch_one(
        "SELECT id FROM order_lines WHERE order_id = {} AND item_id = {} LIMIT 1", order_id, scan.item.id
    )
    if on_order is None:
        raise WrongScan(f"Wrong item: {scan.item.sku} is not on order {carton.order_ref}. Put it aside.")
    return scan


async def _add_to_carton(carton_id: int, order_line_id: int, lot: str, qty: int) -> None:
    await db.fetch(
        "INSERT INTO carton_lines (carton_id, order_line_id, lot, qty) VALUES ({}, {}, {}, {})"
        " ON CONFLICT (carton_id, order_line_id, lot) DO UPDATE SET qty = carton_lines.qty + excluded.qty",
        carton_id, order_line_id, lot, qty,
    )
    updated = await db.fetch(
        "UPDATE order_lines SET packed_qty = packed_qty + {} WHERE id = {} AND packed_qty + {} <= picked_qty"
        " RETURNING id",
        qty, order_line_id, qty,
    )
    if not updated:
        raise Conflict("Someone else packed this item while you worked. Reload the carton.")


async def pack_scan(carton_id: int, scanned_item_code: str, qty: int, *, key: str, actor: Actor) -> CartonView:
    """Put `qty` scanned units of an item into an open carton.

    The item must be on the carton's order and the quantity at most what was picked and not yet
    packed for it; otherwise the scan is refused and nothing is written.
    """
    require_qty(qty)

    async def work() -> CartonView:
        carton = await _open_carton(carton_id)
        order = await get_order(carton.order_ref)
        scan = await _scan_on_order(carton, order.id, scanned_item_code)
        units = scan.base_qty(qty)
        packable = await _packable(order.id, scan, await _warehouse_of(carton_id))
        takes, missing = take_in_order(units, packable)
        if missing:
            have = units - missing
            raise InvalidQuantity(
                f"Only {have} {scan.item.sku} picked and not packed yet for order {order.order_ref};"
                f" you scanned {units}. Check the carton."
            )
        for (order_line_id, lot), take in takes:
            await _add_to_carton(carton_id, order_line_id, lot, take)
        await audit.record(actor, "carton.pack", "carton", carton_id, None,
                           {"code": carton.code, "sku": scan.item.sku, "qty": units})
        return await get_carton(carton_id)

    payload = {"carton_id": carton_id, "item": scanned_item_code.strip(), "qty": qty}
    return await run_once("fulfillment.pack_scan", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(lambda: get_carton(carton_id)))


async def finish_carton(carton_id: int, *, key: str, actor: Actor) -> CartonView:
    """Close a packed carton; only closed cartons can ship."""

    async def work() -> CartonView:
        carton = await _open_carton(carton_id)
        if not carton.lines:
            raise InvalidInput(f"Carton {carton.code} is empty: pack at least one item before finishing it.")
        await db.fetch(
            "UPDATE cartons SET status = 'closed', closed_at = {} WHERE id = {} AND status = 'open'",
            datetime.now(UTC), carton_id,
        )
        await audit.record(actor, "carton.finish", "carton", carton_id, {"status": "open"},
                           {"status": "closed", "code": carton.code, "units": _units(carton)})
        await _packed_when_done(carton.order_ref, actor)
        return await get_carton(carton_id)

    return await run_once("fulfillment.finish_carton", {"carton_id": carton_id}, key=key, actor=actor.label, work=work,
                          replay=read_again(lambda: get_carton(carton_id)))


async def _warehouse_of(carton_id: int) -> int:
    row = await db.fetch_one("SELECT c.warehouse_id, o.warehouse_id AS order_warehouse_id FROM cartons c"
                             " JOIN orders o ON o.id = c.order_id WHERE c.id = {}", carton_id)
    assert row is not None
    return int(row["warehouse_id"] or row["order_warehouse_id"])


async def _packed_when_done(order_ref: str, actor: Actor) -> None:
    """An order being picked is `packed` once every unit it is owed is picked (or short) and packed
    in closed cartons; units still backordered keep it picking."""
    order = await get_order(order_ref)
    if order.status != "picking":
        return
    left = await db.fetch_one(
        "SELECT (SELECT COUNT(*) FROM order_lines WHERE order_id = {} AND NOT dropship"
        " AND packed_qty + short_qty < qty) + (SELECT COUNT(*) FROM cartons WHERE order_id = {} AND status = 'open')"
        " AS n", order.id, order.id)
    if left is not None and int(left["n"]) == 0:
        await lifecycle.transition(order.id, "pack", actor=actor, from_status="picking", order_ref=order.order_ref)


def _units(carton: CartonView) -> int:
    return sum(line.qty for line in carton.lines)
