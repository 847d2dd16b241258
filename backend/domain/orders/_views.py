"""Read side of orders: the list (filters, cursor paging), one order with its lines, reservations,
allocation reasons, holds, refunds and timeline, and the unmapped-SKU queue. Rows become typed
structs (`msgspec.convert`), statuses are `Literal`s."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, TypeVar

import msgspec

from backend import db
from backend.domain.errors import InvalidInput, UnknownReference
from backend.domain.orders._transitions import STATUSES, OrderStatus

PAGE_LIMIT_MAX = 500
TIMELINE_MAX = 200
V = TypeVar("V")


async def _fetch_as(view: type[V], sql: str, *args: Any) -> list[V]:
    return msgspec.convert(await db.fetch(sql, *args), list[view], strict=False)  # type: ignore[valid-type]


class OrderSummary(msgspec.Struct, frozen=True):
    id: int
    order_ref: str
    channel: str
    external_ref: str
    status: OrderStatus
    warehouse: str
    lines: int
    units: int
    backordered: int
    on_hold: bool
    created_at: datetime


class OrderLineDetail(msgspec.Struct, frozen=True):
    line_no: int
    sku: str
    name: str
    qty: int
    backordered_qty: int
    picked_qty: int
    packed_qty: int
    shipped_qty: int
    dropship: bool
    channel_line_ref: str


class UnmappedLine(msgspec.Struct, frozen=True):
    id: int
    order_id: int
    order_ref: str
    channel: str
    line_no: int
    channel_sku: str
    variant_ref: str
    product_ref: str
    qty: int
    created_at: datetime


class ReservationDetail(msgspec.Struct, frozen=True):
    id: int
    line_no: int
    sku: str
    location: str
    warehouse: str
    lot: str
    qty: int
    open_qty: int
    status: Literal["open", "consumed", "released", "expired"]


class AllocationReason(msgspec.Struct, frozen=True):
    line_no: int
    warehouse: str | None
    qty: int
    reason: str
    created_at: datetime


class HoldView(msgspec.Struct, frozen=True):
    id: int
    reason: Literal["payment_not_captured", "address_incomplete", "value_over_threshold", "manual"]
    detail: str
    created_by: str
    created_at: datetime
    released_at: datetime | None
    released_by: str
    release_note: str


class RefundView(msgspec.Struct, frozen=True):
    external_id: str
    amount_cents: int
    order_status: str
    created_at: datetime


class PickListRef(msgspec.Struct, frozen=True):
    id: int
    warehouse: str
    status: Literal["open", "done"]


class TimelineEntry(msgspec.Struct, frozen=True):
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class OrderDetail(msgspec.Struct, frozen=True):
    id: int
    order_ref: str
    channel: str
    external_ref: str
    status: OrderStatus
    warehouse: str
    ship_country: str
    ship_postcode: str
    payment: str
    total_cents: int
    carrier: str
    created_at: datetime
    lines: list[OrderLineDetail]
    unmapped_lines: list[UnmappedLine]
    reservations: list[ReservationDetail]
    allocations: list[AllocationReason]
    holds: list[HoldView]
    refunds: list[RefundView]
    pick_lists: list[PickListRef]
    timeline: list[TimelineEntry]

    @property
    def open_holds(self) -> list[HoldView]:
        return [h for h in self.holds if h.released_at is None]


_SUMMARY = """
SELECT o.id, o.order_ref, o.channel, o.external_ref, o.status, w.code AS warehouse,
  (SELECT COUNT(*) FROM order_lines ol WHERE ol.order_id = o.id)
    + (SELECT COUNT(*) FROM unmapped_order_lines u WHERE u.order_id = o.id) AS lines,
  CAST(COALESCE((SELECT SUM(ol.qty) FROM order_lines ol WHERE ol.order_id = o.id), 0) AS BIGINT) AS units,
  CAST(COALESCE((SELECT SUM(ol.backordered_qty) FROM order_lines ol WHERE ol.order_id = o.id), 0) AS BIGINT)
    AS backordered,
  EXISTS (SELECT 1 FROM order_holds h WHERE h.order_id = o.id AND h.released_at IS NULL) AS on_hold,
  o.created_at
FROM orders o JOIN locations w ON w.id = o.warehouse_id
"""


async def list_orders(*, status: str = "", channel: str = "", on_hold: bool | None = None, before_id: int = 0,
                      limit: int = 50) -> list[OrderSummary]:
    """Newest first. `before_id` is the cursor: the id of the last order of the previous page."""
    if status and status not in STATUSES:
        raise InvalidInput(f"Unknown order status {status!r}; one of {', '.join(STATUSES)}.")
    hold = -1 if on_hold is None else int(on_hold)
    held = "EXISTS (SELECT 1 FROM order_holds h WHERE h.order_id = o.id AND h.released_at IS NULL)"
    return await _fetch_as(
        OrderSummary,
        f"{_SUMMARY} WHERE ({{}} = '' OR o.status = {{}}) AND ({{}} = '' OR o.channel = {{}})"
        f" AND ({{}} = -1 OR ({{}} = 1) = {held}) AND ({{}} = 0 OR o.id < {{}}) ORDER BY o.id DESC LIMIT {{}}",
        status, status, channel, channel, hold, hold, before_id, before_id, max(1, min(limit, PAGE_LIMIT_MAX + 1)),
    )


async def _timeline(order_id: int) -> list[TimelineEntry]:
    rows = await db.fetch("SELECT at, actor, action, before, after FROM audit_log WHERE entity = 'order'"
                          " AND entity_id = {} ORDER BY id LIMIT {}", str(order_id), TIMELINE_MAX)
    for r in rows:
        r["before"] = json.loads(r["before"]) if r["before"] else None
        r["after"] = json.loads(r["after"]) if r["after"] else None
    return msgspec.convert(rows, list[TimelineEntry], strict=False)


async def _order_row(order_id: int) -> dict[str, Any]:
    row = await db.fetch_one(
        "SELECT o.id, o.order_ref, o.channel, o.external_ref, o.status, w.code AS warehouse, o.ship_country,"
        " o.ship_postcode, o.payment, o.total_cents, o.carrier, o.created_at FROM orders o"
        " JOIN locations w ON w.id = o.warehouse_id WHERE o.id = {}", order_id)
    if row is None:
        raise UnknownReference(f"No order #{order_id}.")
    return row


async def get_order_detail(order_id: int) -> OrderDetail:
    row = await _order_row(order_id)
    lines = await db.fetch(
        "SELECT ol.line_no, i.sku, i.name, ol.qty, ol.backordered_qty, ol.picked_qty, ol.packed_qty, ol.shipped_qty,"
        " ol.dropship, ol.channel_line_ref FROM order_lines ol JOIN items i ON i.id = ol.item_id"
        " WHERE ol.order_id = {} ORDER BY ol.line_no", order_id)
    reservations = await db.fetch(
        "SELECT r.id, ol.line_no, i.sku, l.code AS location, w.code AS warehouse, r.lot, r.qty, r.open_qty, r.status"
        " FROM order_reservations orr JOIN order_lines ol ON ol.id = orr.order_line_id"
        " JOIN reservations r ON r.id = orr.reservation_id JOIN items i ON i.id = r.item_id"
        " JOIN locations l ON l.id = r.location_id JOIN locations w ON w.id = l.warehouse_id"
        " WHERE ol.order_id = {} ORDER BY ol.line_no, r.id", order_id)
    allocations = await db.fetch(
        "SELECT a.line_no, w.code AS warehouse, a.qty, a.reason, a.created_at FROM order_allocations a"
        " LEFT JOIN locations w ON w.id = a.warehouse_id WHERE a.order_id = {} ORDER BY a.id", order_id)
    holds = await db.fetch("SELECT id, reason, detail, created_by, created_at, released_at, released_by, release_note"
                           " FROM order_holds WHERE order_id = {} ORDER BY id", order_id)
    refunds = await db.fetch("SELECT external_id, amount_cents, order_status, created_at FROM order_refunds"
                             " WHERE order_id = {} ORDER BY id", order_id)
    pick_lists = await db.fetch(
        "SELECT DISTINCT p.id, w.code AS warehouse, p.status FROM pick_list_lines pl"
        " JOIN pick_lists p ON p.id = pl.pick_list_id JOIN order_lines ol ON ol.id = pl.order_line_id"
        " JOIN locations w ON w.id = p.warehouse_id WHERE ol.order_id = {} ORDER BY p.id", order_id)
    return msgspec.convert({
        **row, "lines": lines, "unmapped_lines": await unmapped_lines(order_id=order_id),
        "reservations": reservations, "allocations": allocations, "holds": holds, "refunds": refunds,
        "pick_lists": pick_lists,
        "timeline": msgspec.to_builtins(await _timeline(order_id)),
    }, OrderDetail, strict=False)


async def unmapped_lines(*, order_id: int = 0, channel: str = "", limit: int = 200) -> list[UnmappedLine]:
    """The unmapped-SKU queue (oldest first), or one order's waiting lines."""
    return await _fetch_as(
        UnmappedLine,
        "SELECT u.id, u.order_id, o.order_ref, c.slug AS channel, u.line_no, u.channel_sku, u.variant_ref,"
        " u.product_ref, u.qty, u.created_at FROM unmapped_order_lines u JOIN orders o ON o.id = u.order_id"
        " JOIN channels c ON c.id = u.channel_id WHERE ({} = 0 OR u.order_id = {}) AND ({} = '' OR c.slug = {})"
        " ORDER BY u.id LIMIT {}",
        order_id, order_id, channel, channel, max(1, min(limit, PAGE_LIMIT_MAX)),
    )


async def find_order_id(order_ref: str) -> int | None:
    row = await db.fetch_one("SELECT id FROM orders WHERE ref_key = {}", order_ref.strip().casefold())
    return row["id"] if row else None
