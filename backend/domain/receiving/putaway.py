"""Directed putaway: where should this item go?"""

from __future__ import annotations

from backend import db
from backend.domain.locations.service import LocationView, get_location_by_id

PUTAWAY_REASONS = ("suggested_bin_full", "suggested_bin_blocked", "consolidating", "lead_instruction")


async def suggest_bin(item_id: int, warehouse_id: int, exclude_location_id: int = 0) -> LocationView | None:
    """Same item first (the bin already holding most of it), else an empty bin in the zone where
    the item is kept, else the first empty bin in walk order."""
    same_item = await db.fetch_one(
        "SELECT l.id FROM balances b JOIN locations l ON l.id = b.location_id"
        " WHERE b.item_id = {} AND l.warehouse_id = {} AND l.kind = 'bin' AND l.active AND b.on_hand > 0"
        " AND l.id <> {} ORDER BY b.on_hand DESC, l.walk_seq LIMIT 1",
        item_id, warehouse_id, exclude_location_id,
    )
    if same_item:
        return await get_location_by_id(same_item["id"])
    empty = await db.fetch_one(
        "SELECT l.id FROM locations l"
        " LEFT JOIN (SELECT parent_id AS zone_id, COUNT(*) AS n FROM locations l2 JOIN balances b2"
        "   ON b2.location_id = l2.id WHERE b2.item_id = {} GROUP BY parent_id) z ON z.zone_id = l.parent_id"
        " WHERE l.warehouse_id = {} AND l.kind = 'bin' AND l.active AND l.id <> {}"
        " AND NOT EXISTS (SELECT 1 FROM balances b WHERE b.location_id = l.id AND b.on_hand > 0)"
        " ORDER BY COALESCE(z.n, 0) DESC, l.walk_seq, l.code LIMIT 1",
        item_id, warehouse_id, exclude_location_id,
    )
    return await get_location_by_id(empty["id"]) if empty else None
