"""Orders that wait, continued by the import job: orders in the unmapped-SKU queue once a mapping
names their items, and backordered units once stock arrives (receipt, return, count, transfer —
whatever made it available), highest channel priority first, then oldest promise first.

Each order is its own transaction; a run handles at most `limit` orders.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from backend import db
from backend.domain import channels
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.channels import ChannelLine
from backend.domain.orders._placing import PlacedLine, Placement, advance, insert_lines
from backend.domain.orders._reserving import allocate_order
from backend.domain.orders._transitions import AWAITING_STOCK, OrderStatus, transition

NO_CHANNEL_PRIORITY = 100  # tablet and API orders compete like a channel of the default priority


async def _lock(order_id: int) -> OrderStatus | None:
    lock = " FOR UPDATE" if db.is_postgres() else ""
    row = await db.fetch_one(f"SELECT status FROM orders WHERE id = {{}}{lock}", order_id)
    return row["status"] if row else None


async def _map_waiting_lines(order_id: int, actor: Actor) -> int:
    """Move the order's lines that now have an item out of the queue; returns how many."""
    status = await _lock(order_id)
    waiting = await db.fetch("SELECT id, channel_id, line_no, channel_sku, variant_ref, product_ref, qty, price_cents,"
                             " channel_line_ref FROM unmapped_order_lines WHERE order_id = {} ORDER BY line_no",
                             order_id)
    if status is None or not waiting:
        return 0
    lines = [ChannelLine(w["channel_line_ref"], w["channel_sku"], w["variant_ref"], w["product_ref"], w["qty"],
                         w["price_cents"]) for w in waiting]
    resolved = await channels.resolve_lines(waiting[0]["channel_id"], lines)
    mapped = [(w, r) for w, r in zip(waiting, resolved, strict=True) if r.item_id is not None]
    if not mapped:
        return 0
    placed = tuple(PlacedLine(w["line_no"], r.item_id, w["qty"], r.dropship, w["channel_line_ref"], w["price_cents"])
                   for w, r in mapped if r.item_id is not None)
    await insert_lines(order_id, Placement("", "", 0, False, placed), datetime.now(UTC))
    marks = ", ".join("{}" for _ in mapped)
    await db.fetch(f"DELETE FROM unmapped_order_lines WHERE id IN ({marks})", *[w["id"] for w, _ in mapped])
    await audit.record(actor, "order.lines_mapped", "order", order_id, None,
                       {"lines": [w["line_no"] for w, _ in mapped], "still_unmapped": len(waiting) - len(mapped)})
    if status == "imported":
        await advance(order_id, actor=actor, status=status)
    return len(mapped)


async def continue_mapped_orders(*, limit: int, actor: Actor) -> int:
    """Orders in the unmapped-SKU queue whose lines a mapping (or a new item) now names; returns how
    many orders took lines out of the queue."""
    rows = await db.fetch(
        "SELECT DISTINCT u.order_id FROM unmapped_order_lines u WHERE EXISTS (SELECT 1 FROM channel_sku_mappings m"
        " WHERE m.channel_id = u.channel_id AND m.channel_ref IN (u.channel_sku, 'variant:' || u.variant_ref,"
        " 'product:' || u.product_ref)) OR EXISTS (SELECT 1 FROM items i WHERE i.sku_key = LOWER(u.channel_sku)"
        " AND i.active AND NOT i.is_kit) ORDER BY u.order_id LIMIT {}", limit)
    moved = 0
    for r in rows:
        mapped = await db.run_in_transaction(functools.partial(_map_waiting_lines, r["order_id"], actor))
        moved += 1 if mapped else 0
    return moved


_AWAITING = ", ".join(f"'{s}'" for s in AWAITING_STOCK)
# The same warehouses rules_of() allows the order, in SQL, so an order whose units are only
# available where it may not ship from is not picked up again and again.
_BACKORDER_CANDIDATES = f"""
SELECT o.id, COALESCE(c.priority, {NO_CHANNEL_PRIORITY}) AS priority
FROM orders o LEFT JOIN channels c ON c.id = o.channel_id
WHERE o.status IN ({_AWAITING}) AND EXISTS (
  SELECT 1 FROM order_lines ol JOIN balances b ON b.item_id = ol.item_id JOIN locations l ON l.id = b.location_id
  WHERE ol.order_id = o.id AND ol.backordered_qty > 0 AND NOT ol.dropship AND l.kind = 'bin' AND l.active
    AND b.on_hand - b.reserved - b.quarantined - b.damaged > 0
    AND CASE WHEN o.warehouse_pinned OR (NOT COALESCE(c.allow_split, TRUE) AND o.alloc_seq > 0)
               THEN l.warehouse_id = o.warehouse_id
             WHEN EXISTS (SELECT 1 FROM channel_warehouses cw WHERE cw.channel_id = o.channel_id)
               THEN l.warehouse_id IN (SELECT cw.warehouse_id FROM channel_warehouses cw
                                       WHERE cw.channel_id = o.channel_id)
             ELSE TRUE END)
ORDER BY priority, COALESCE(o.promised_at, o.created_at), o.id LIMIT {{}}
"""


async def _allocate_backorder(order_id: int, actor: Actor) -> int:
    status = await _lock(order_id)
    if status not in AWAITING_STOCK:
        return 0
    owed = await db.fetch_one("SELECT COALESCE(SUM(backordered_qty), 0) AS n FROM order_lines WHERE order_id = {}"
                              " AND NOT dropship", order_id)
    before = int(owed["n"]) if owed else 0
    left = await allocate_order(order_id, actor=actor, record_nothing=False, reason_prefix="stock arrived: ")
    if left == 0 and status == "backordered":
        status = await transition(order_id, "reserve", actor=actor, from_status=status)
        await advance(order_id, actor=actor, status=status)
    return before - left


async def allocate_backorders(*, limit: int, actor: Actor) -> int:
    """Allocate backordered units that stock is now available for; returns the units allocated."""
    units = 0
    for r in await db.fetch(_BACKORDER_CANDIDATES, limit):
        units += await db.run_in_transaction(functools.partial(_allocate_backorder, r["id"], actor))
    return units
