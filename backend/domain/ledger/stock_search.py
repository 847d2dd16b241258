"""Stock rows for the managers' search: one row per item, location and lot holding stock, in SKU and
location order, a page at a time (OFFSET paging: a tablet pages a few screens, not millions of rows)."""

from __future__ import annotations

from dataclasses import dataclass

from backend import db

STOCK_ROWS_MAX = 200
ITEM_IDS_MAX = 500


@dataclass(frozen=True, slots=True)
class StockRow:
    sku: str
    item_name: str
    location: str
    location_kind: str
    lot: str
    on_hand: int
    reserved: int
    held: int  # quarantined + damaged

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.held


async def stock_rows(*, item_ids: list[int] | None = None, location_id: int = 0, offset: int = 0,
                     limit: int = 50) -> list[StockRow]:
    """Rows of these items (or of this location); `limit` rows from `offset`."""
    assert item_ids is not None or location_id, "search by items or by a location"
    limit, offset = max(1, min(limit, STOCK_ROWS_MAX)), max(0, offset)
    where, args = "b.on_hand > 0", []
    if item_ids is not None:
        if not item_ids:
            return []
        ids = item_ids[:ITEM_IDS_MAX]
        where += f" AND b.item_id IN ({', '.join('{}' for _ in ids)})"
        args.extend(ids)
    if location_id:
        where += " AND b.location_id = {}"
        args.append(location_id)
    rows = await db.fetch(
        "SELECT i.sku, i.name AS item_name, l.code AS location, l.kind AS location_kind, b.lot, b.on_hand,"
        " b.reserved, b.quarantined + b.damaged AS held FROM balances b JOIN items i ON i.id = b.item_id"
        f" JOIN locations l ON l.id = b.location_id WHERE {where}"
        " ORDER BY i.sku_key, l.code, b.lot LIMIT {} OFFSET {}",
        *args, limit, offset,
    )
    return [StockRow(**{**r, "on_hand": int(r["on_hand"]), "reserved": int(r["reserved"]), "held": int(r["held"])})
            for r in rows]
