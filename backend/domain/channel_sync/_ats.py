"""Available to sell on a channel.

    available  = on hand − reserved − quarantined − damaged, in active bins of the channel's warehouses
                 (every warehouse when the channel names none); a kit: per warehouse, the fewest of
                 (component available ÷ units per kit) over its components, summed over warehouses
                 (a kit ships from one warehouse, so components in two warehouses make no kit)
    to sell    = available − buffer, never more than share % of available, never below 0
    buffer     = buffer_units, or buffer_pct % of available rounded up

The rule is a pure function (`available_to_sell`), and so is a kit's count (`kit_available`); the
stock behind every listing of a channel is one pass over `balances` grouped by item and warehouse
(`listing_availability`), shared by channels with the same warehouses in one run.
"""

from __future__ import annotations

import asyncio
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


async def _warehouses(channel_id: int) -> tuple[int, ...]:
    rows = await db.fetch(
        "SELECT warehouse_id FROM channel_warehouses WHERE channel_id = {} UNION ALL"
        " SELECT id FROM locations WHERE kind = 'warehouse'"
        " AND NOT EXISTS (SELECT 1 FROM channel_warehouses WHERE channel_id = {})", channel_id, channel_id)
    return tuple(sorted(int(r["warehouse_id"]) for r in rows))


PerWarehouse = dict[int, dict[int, int]]  # item id → warehouse id → available units


async def _available_per_warehouse(warehouses: tuple[int, ...]) -> PerWarehouse:
    """One pass over `balances` grouped by item and warehouse: a plan that does not depend on table
    statistics (a bulk import leaves them stale until autovacuum's next analyze)."""
    if not warehouses:
        return {}
    marks = ", ".join("{}" for _ in warehouses)
    rows = await db.fetch(
        "SELECT b.item_id, l.warehouse_id, CAST(SUM(b.on_hand - b.reserved - b.quarantined - b.damaged) AS BIGINT)"
        " AS qty FROM balances b JOIN locations l ON l.id = b.location_id"
        f" WHERE l.kind = 'bin' AND l.active AND l.warehouse_id IN ({marks}) GROUP BY b.item_id, l.warehouse_id",
        *warehouses)
    out: PerWarehouse = {}
    for r in rows:
        out.setdefault(int(r["item_id"]), {})[int(r["warehouse_id"])] = int(r["qty"])
    return out


def kit_available(components: list[tuple[int, int]], stock: PerWarehouse, warehouses: tuple[int, ...]) -> int:
    """Kits of (component item id, units per kit): per warehouse the fewest any component allows, summed
    (a kit ships from one warehouse; a component missing there allows none)."""
    total = 0
    for warehouse in warehouses:
        total += min((stock.get(item, {}).get(warehouse, 0) // per_kit for item, per_kit in components), default=0)
    return total


StockCache = dict[tuple[int, ...], "asyncio.Task[PerWarehouse]"]


async def listing_availability(channel_id: int, *, cache: StockCache | None = None) -> list[ListingStock]:
    """Available units behind each listing of the channel that names a Stockline item. Three queries
    (warehouses, stock per item and warehouse, kit components); `cache` shares the stock between
    channels with the same warehouses within one run."""
    warehouses = await _warehouses(channel_id)
    cache = {} if cache is None else cache
    if warehouses not in cache:  # channels pushed at the same time wait for the same read
        cache[warehouses] = asyncio.ensure_future(_available_per_warehouse(warehouses))
    stock = await cache[warehouses]
    kits: dict[int, list[tuple[int, int]]] = {}
    for r in await db.fetch("SELECT DISTINCT kc.kit_id, kc.component_id, kc.qty FROM kit_components kc"
                            " JOIN channel_listings cl ON cl.item_id = kc.kit_id WHERE cl.channel_id = {}",
                            channel_id):
        kits.setdefault(int(r["kit_id"]), []).append((int(r["component_id"]), int(r["qty"])))
    listings = await db.fetch("SELECT id, remote_id, channel_qty, item_id FROM channel_listings WHERE channel_id = {}"
                              " AND item_id IS NOT NULL AND problem = '' ORDER BY id", channel_id)
    out = []
    for r in listings:
        item = int(r["item_id"])
        available = sum(stock.get(item, {}).values())
        if item in kits:
            available += kit_available(kits[item], stock, warehouses)
        channel_qty = None if r["channel_qty"] is None else int(r["channel_qty"])
        out.append(ListingStock(int(r["id"]), r["remote_id"], channel_qty, available))
    return out
