"""The offline snapshot: item master, barcodes, warehouse locations, open pick lists and the count
tasks in progress, in one compact read (positional rows; items referenced by index).

Never quantities on hand: a blind count must stay blind, and a snapshot's stock figures would be
stale the moment it is taken. The handheld only resolves scans and walks its work from it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backend import db

SNAPSHOT_VERSION = 1
ITEMS_MAX = 50_000
BINS_MAX = 20_000
PICK_LISTS_MAX = 50
PICK_LINES_MAX = 5_000
COUNT_TASKS_MAX = 200
ITEM_LOT_TRACKED, ITEM_SERIAL_TRACKED = 1, 2  # bit flags in an item row


async def build_snapshot() -> dict[str, Any]:
    """One consistent read (a read transaction) of everything the offline screens resolve against."""
    async with db.transaction(write=False):
        items = await db.fetch(
            "SELECT id, sku, name, base_unit, lot_tracked, serial_tracked FROM items"
            " WHERE active = {} ORDER BY sku_key LIMIT {}", True, ITEMS_MAX)
        index = {row["id"]: n for n, row in enumerate(items)}
        return {
            "v": SNAPSHOT_VERSION,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "items": [[r["sku"], r["name"], r["base_unit"], _flags(r)] for r in items],
            "barcodes": await _barcodes(index),
            "bins": await _bins(),
            "pick_lists": await _pick_lists(),
            "count_tasks": await _count_tasks(),
        }


def _flags(row: dict[str, Any]) -> int:
    return (ITEM_LOT_TRACKED if row["lot_tracked"] else 0) | (ITEM_SERIAL_TRACKED if row["serial_tracked"] else 0)


async def _barcodes(index: dict[int, int]) -> list[list[Any]]:
    """[code, item index, base units per scan]."""
    rows = await db.fetch(
        "SELECT b.code, b.item_id, COALESCE(u.factor, 1) AS factor FROM barcodes b"
        " LEFT JOIN item_units u ON u.item_id = b.item_id AND u.unit = b.unit ORDER BY b.code")
    return [[r["code"], index[r["item_id"]], int(r["factor"])] for r in rows if r["item_id"] in index]


async def _bins() -> list[list[Any]]:
    """[code, barcode, kind, warehouse code, walk seq] for every active place in a warehouse: bins, and
    the zones and staging places a worker may scan by mistake (the device refuses those as the server
    does). Not the virtual supplier/customer/adjustment locations."""
    rows = await db.fetch(
        "SELECT l.code, l.barcode, l.kind, COALESCE(w.code, '') AS warehouse, l.walk_seq FROM locations l"
        " LEFT JOIN locations w ON w.id = l.warehouse_id"
        " WHERE l.active = {} AND (l.warehouse_id IS NOT NULL OR l.kind = 'warehouse')"
        " ORDER BY l.code_key LIMIT {}", True, BINS_MAX)
    return [[r["code"], r["barcode"], r["kind"], r["warehouse"], r["walk_seq"]] for r in rows]


async def _pick_lists() -> list[dict[str, Any]]:
    """Open pick lists (any picker may work one) with their open lines in walk order:
    [line id, bin, sku, item name, lot, qty remaining]."""
    lists = await db.fetch(
        "SELECT p.id, w.code AS warehouse FROM pick_lists p JOIN locations w ON w.id = p.warehouse_id"
        " WHERE p.status = 'open' ORDER BY p.id LIMIT {}", PICK_LISTS_MAX)
    if not lists:
        return []
    ids = [r["id"] for r in lists]
    marks = ", ".join("{}" for _ in ids)
    lines = await db.fetch(
        "SELECT pl.pick_list_id, pl.id, l.code AS bin, i.sku, i.name, pl.lot,"
        " pl.qty - pl.picked_qty - pl.short_qty AS remaining FROM pick_list_lines pl"
        " JOIN items i ON i.id = pl.item_id JOIN locations l ON l.id = pl.location_id"
        f" WHERE pl.pick_list_id IN ({marks}) AND pl.status = 'open' ORDER BY pl.pick_list_id, pl.seq LIMIT {{}}",
        *ids, PICK_LINES_MAX)
    by_list: dict[int, list[list[Any]]] = {i: [] for i in ids}
    for r in lines:
        by_list[r["pick_list_id"]].append([r["id"], r["bin"], r["sku"], r["name"], r["lot"], int(r["remaining"])])
    return [{"id": r["id"], "warehouse": r["warehouse"], "lines": by_list[r["id"]]} for r in lists if by_list[r["id"]]]


async def _count_tasks() -> list[list[Any]]:
    """[task id, bin, user id who started it]: only tasks already being counted take offline scans
    (starting a count snapshots the bin on the server)."""
    rows = await db.fetch(
        "SELECT t.id, l.code AS bin, t.started_by_user_id FROM count_tasks t JOIN locations l ON l.id = t.bin_id"
        " WHERE t.status = 'counting' ORDER BY t.id LIMIT {}", COUNT_TASKS_MAX)
    return [[r["id"], r["bin"], r["started_by_user_id"]] for r in rows]
