"""Available to sell on a channel.

    available  = on hand − reserved − quarantined − damaged, in active bins of the channel's warehouses
                 (every warehouse when the channel names none); a kit: per warehouse, the fewest of
                 (component available ÷ units per kit) over its components, summed over warehouses
                 (a kit ships from one warehouse, so components in two warehouses make no kit)
    to sell    = available − buffer, never more than share % of available, never below 0
    buffer     = buffer_units, or buffer_pct % of available rounded up

The rule is a pure function (`available_to_sell`); the availability of every listing of a channel is
one query (`listing_availability`), so a push compares 100,000 listings in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend import db

PCT_MAX = 100


@dataclass(frozen=True, slots=True)
class StockRule:
    buffer_units: int = 0
    buffer_pct: int = 0
    share_pct: int = 100

    def __post_init__(self) -> None:
        assert self.buffer_units >= 0
        assert 0 <= self.buffer_pct <= PCT_MAX
        assert 0 <= self.share_pct <= PCT_MAX
        assert self.buffer_units == 0 or self.buffer_pct == 0, "a buffer is in units or in %, not both"

    def describe(self) -> str:
        parts = []
        if self.buffer_units:
            parts.append(f"keep {self.buffer_units} back")
        if self.buffer_pct:
            parts.append(f"keep {self.buffer_pct} % back")
        if self.share_pct < PCT_MAX:
            parts.append(f"offer at most {self.share_pct} %")
        return ", ".join(parts) or "everything available"


def available_to_sell(available: int, rule: StockRule) -> int:
    """What the channel may sell of `available` units (integers throughout)."""
    if available <= 0:
        return 0
    buffer = rule.buffer_units + -(-available * rule.buffer_pct // PCT_MAX)  # ceil
    cap = available * rule.share_pct // PCT_MAX
    return max(0, min(available - buffer, cap))


@dataclass(frozen=True, slots=True)
class ListingStock:
    listing_id: int
    remote_id: str
    channel_qty: int | None  # what the channel holds as far as Stockline knows; None: never read or sent
    available: int


# The channel's warehouses: its own list, or every warehouse when it names none.
_WAREHOUSES = """
wh AS (
  SELECT warehouse_id FROM channel_warehouses WHERE channel_id = {}
  UNION ALL
  SELECT id FROM locations WHERE kind = 'warehouse'
    AND NOT EXISTS (SELECT 1 FROM channel_warehouses WHERE channel_id = {})
)"""

_FREE = """
free AS (
  SELECT b.item_id, l.warehouse_id, CAST(SUM(b.on_hand - b.reserved - b.quarantined - b.damaged) AS BIGINT) AS qty
  FROM balances b JOIN locations l ON l.id = b.location_id
  WHERE l.kind = 'bin' AND l.active AND l.warehouse_id IN (SELECT warehouse_id FROM wh)
  GROUP BY b.item_id, l.warehouse_id
)"""

# Kits: per warehouse the fewest kits any component allows (a missing component allows none).
_KITS = """
kits AS (
  SELECT kc.kit_id AS item_id, w.warehouse_id, MIN(COALESCE(f.qty, 0) / kc.qty) AS qty
  FROM kit_components kc CROSS JOIN wh w
  LEFT JOIN free f ON f.item_id = kc.component_id AND f.warehouse_id = w.warehouse_id
  WHERE kc.kit_id IN ({listed_items})
  GROUP BY kc.kit_id, w.warehouse_id
)"""

_PER_ITEM = """
per_item AS (
  SELECT item_id, CAST(SUM(qty) AS BIGINT) AS qty FROM (
    SELECT item_id, qty FROM free UNION ALL SELECT item_id, qty FROM kits) u
  GROUP BY item_id
)"""


def _availability_sql(listing_filter: str) -> str:
    listed = f"SELECT item_id FROM channel_listings WHERE channel_id = {{}} AND item_id IS NOT NULL{listing_filter}"
    return ("WITH " + ",".join([_WAREHOUSES, _FREE, _KITS.replace("{listed_items}", listed), _PER_ITEM])
            + " SELECT cl.id AS listing_id, cl.remote_id, cl.channel_qty, COALESCE(p.qty, 0) AS available"
            " FROM channel_listings cl LEFT JOIN per_item p ON p.item_id = cl.item_id"
            " WHERE cl.channel_id = {} AND cl.item_id IS NOT NULL AND cl.problem = ''"
            f"{listing_filter.replace('item_id', 'cl.item_id')}"
            " ORDER BY cl.id")


async def listing_availability(channel_id: int, *, item_ids: list[int] | None = None) -> list[ListingStock]:
    """Available units behind each listing of the channel that names a Stockline item (one query)."""
    listing_filter = ""
    if item_ids is not None:
        if not item_ids:
            return []
        listing_filter = f" AND item_id IN ({', '.join('{}' for _ in item_ids)})"
    sql = _availability_sql(listing_filter)
    args: list[object] = [channel_id, channel_id, channel_id, *(item_ids or []), channel_id, *(item_ids or [])]
    rows = await db.fetch(sql, *args)
    return [ListingStock(int(r["listing_id"]), r["remote_id"],
                         None if r["channel_qty"] is None else int(r["channel_qty"]), int(r["available"]))
            for r in rows]
