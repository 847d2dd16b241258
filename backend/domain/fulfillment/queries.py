"""Read side of fulfillment: orders, pick lists, short picks, cartons and shipments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from backend import db
from backend.domain.errors import UnknownReference
from backend.domain.fulfillment.documents import CartonLabel, PackingSlip, SlipLine
from backend.domain.fulfillment.rules import order_ref_key, pick_list_code

LIST_LIMIT_MAX = 500
# The CHECKs of pick_lists, pick_list_lines and cartons (m0004_fulfillment).
PickListStatus = Literal["open", "done"]
PickLineStatus = Literal["open", "picked", "short"]
CartonStatus = Literal["open", "closed", "shipped"]


@dataclass(frozen=True, slots=True)
class OrderLineView:
    id: int
    line_no: int
    sku: str
    item_name: str
    qty: int
    backordered_qty: int
    picked_qty: int
    short_qty: int
    packed_qty: int
    shipped_qty: int

    @property
    def allocated_qty(self) -> int:
        """What was reserved for the line when the order was placed."""
        return self.qty - self.backordered_qty


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    order_ref: str
    channel: str
    external_ref: str
    warehouse: str
    status: str
    lines: tuple[OrderLineView, ...]


@dataclass(frozen=True, slots=True)
class PickLineView:
    id: int
    pick_list_id: int
    seq: int
    order_ref: str
    order_line_id: int
    sku: str
    item_name: str
    bin: str
    walk_seq: int
    lot: str
    qty: int
    picked_qty: int
    short_qty: int
    short_reason: str
    status: PickLineStatus

    @property
    def remaining(self) -> int:
        return self.qty - self.picked_qty - self.short_qty


@dataclass(frozen=True, slots=True)
class PickListView:
    id: int
    warehouse: str
    status: PickListStatus
    lines: tuple[PickLineView, ...]

    @property
    def code(self) -> str:
        return pick_list_code(self.id)


@dataclass(frozen=True, slots=True)
class PickListSummary:
    id: int
    warehouse: str
    created_at: datetime | str
    lines_total: int
    lines_open: int

    @property
    def code(self) -> str:
        return pick_list_code(self.id)


@dataclass(frozen=True, slots=True)
class ShortPickView:
    line_id: int
    pick_list_id: int
    order_ref: str
    sku: str
    bin: str
    lot: str
    short_qty: int
    reason: str
    shorted_at: datetime | str


@dataclass(frozen=True, slots=True)
class CartonLineView:
    order_line_id: int
    sku: str
    item_name: str
    lot: str
    qty: int


@dataclass(frozen=True, slots=True)
class CartonView:
    id: int
    code: str
    order_ref: str
    status: CartonStatus
    shipment_id: int | None
    lines: tuple[CartonLineView, ...]


@dataclass(frozen=True, slots=True)
class ShipmentView:
    id: int
    order_ref: str
    carrier: str
    tracking: str
    carton_codes: tuple[str, ...]


def _limit(limit: int) -> int:
    return max(1, min(limit, LIST_LIMIT_MAX))


async def _order_lines(order_id: int) -> tuple[OrderLineView, ...]:
    return tuple(await db.fetch_as(
        OrderLineView,
        "SELECT ol.id, ol.line_no, i.sku, i.name AS item_name, ol.qty, ol.backordered_qty, ol.picked_qty,"
        " ol.short_qty, ol.packed_qty, ol.shipped_qty FROM order_lines ol JOIN items i ON i.id = ol.item_id"
        " WHERE ol.order_id = {} ORDER BY ol.line_no",
        order_id,
    ))


_ORDER_SELECT = (
    "SELECT o.id, o.order_ref, o.channel, o.external_ref, w.code AS warehouse, o.status"
    " FROM orders o JOIN locations w ON w.id = o.warehouse_id"
)


async def find_order(order_ref: str) -> OrderView | None:
    row = await db.fetch_one(f"{_ORDER_SELECT} WHERE o.ref_key = {{}}", order_ref_key(order_ref))
    return OrderView(**row, lines=await _order_lines(row["id"])) if row else None


async def get_order(order_ref: str) -> OrderView:
    order = await find_order(order_ref)
    if order is None:
        raise UnknownReference(f"No order {order_ref!r}. Check the order number.")
    return order


async def get_order_by_id(order_id: int) -> OrderView:
    row = await db.fetch_one(f"{_ORDER_SELECT} WHERE o.id = {{}}", order_id)
    if row is None:
        raise UnknownReference(f"No order #{order_id}.")
    return OrderView(**row, lines=await _order_lines(order_id))


_PICK_LINE_SELECT = (
    "SELECT pl.id, pl.pick_list_id, pl.seq, o.order_ref, pl.order_line_id, i.sku, i.name AS item_name,"
    " l.code AS bin, l.walk_seq, pl.lot, pl.qty, pl.picked_qty, pl.short_qty, pl.short_reason, pl.status"
    " FROM pick_list_lines pl JOIN order_lines ol ON ol.id = pl.order_line_id"
    " JOIN orders o ON o.id = ol.order_id JOIN items i ON i.id = pl.item_id"
    " JOIN locations l ON l.id = pl.location_id"
)


@dataclass(frozen=True, slots=True)
class _PickListHead:
    id: int
    warehouse: str
    status: PickListStatus


async def get_pick_list(pick_list_id: int) -> PickListView:
    head = await db.fetch_one_as(
        _PickListHead,
        "SELECT p.id, w.code AS warehouse, p.status FROM pick_lists p JOIN locations w ON w.id = p.warehouse_id"
        " WHERE p.id = {}",
        pick_list_id,
    )
    if head is None:
        raise UnknownReference(f"No pick list #{pick_list_id}.")
    lines = await db.fetch_as(PickLineView, f"{_PICK_LINE_SELECT} WHERE pl.pick_list_id = {{}} ORDER BY pl.seq",
                              pick_list_id)
    return PickListView(head.id, head.warehouse, head.status, tuple(lines))


async def get_pick_line(pick_list_id: int, line_id: int) -> PickLineView:
    line = await db.fetch_one_as(PickLineView, f"{_PICK_LINE_SELECT} WHERE pl.id = {{}} AND pl.pick_list_id = {{}}",
                                 line_id, pick_list_id)
    if line is None:
        raise UnknownReference(f"Line #{line_id} is not on pick list #{pick_list_id}. Reload the pick list.")
    return line


async def next_pick_line(pick_list_id: int, *, besides: int = 0) -> PickLineView | None:
    """The first line still to pick, in walk order, other than line `besides`; None when the list is done."""
    await get_pick_list(pick_list_id)  # raises for an unknown list
    return await db.fetch_one_as(
        PickLineView,
        f"{_PICK_LINE_SELECT} WHERE pl.pick_list_id = {{}} AND pl.status = 'open' AND pl.id <> {{}}"
        " ORDER BY pl.seq LIMIT 1",
        pick_list_id, besides,
    )


async def list_open_pick_lists(limit: int = 100) -> list[PickListSummary]:
    rows = await db.fetch(
        "SELECT p.id, w.code AS warehouse, p.created_at, COUNT(pl.id) AS lines_total,"
        " SUM(CASE WHEN pl.status = 'open' THEN 1 ELSE 0 END) AS lines_open"
        " FROM pick_lists p JOIN locations w ON w.id = p.warehouse_id"
        " JOIN pick_list_lines pl ON pl.pick_list_id = p.id"
        " WHERE p.status = 'open' GROUP BY p.id, w.code, p.created_at ORDER BY p.id LIMIT {}",
        _limit(limit),
    )
    return [PickListSummary(r["id"], r["warehouse"], r["created_at"], int(r["lines_total"]), int(r["lines_open"]))
            for r in rows]


async def open_pick_list_for(*, bin_id: int = 0, order_ref: str = "", item_id: int = 0) -> int | None:
    """The first open pick list with a line still to pick in that bin, for that order or of that item:
    what a picker's scan on the pick-list menu opens."""
    row = await db.fetch_one(
        "SELECT MIN(pl.pick_list_id) AS id FROM pick_list_lines pl JOIN pick_lists p ON p.id = pl.pick_list_id"
        " JOIN order_lines ol ON ol.id = pl.order_line_id JOIN orders o ON o.id = ol.order_id"
        " WHERE p.status = 'open' AND pl.status = 'open' AND ({} = 0 OR pl.location_id = {})"
        " AND ({} = '' OR o.ref_key = {}) AND ({} = 0 OR pl.item_id = {})",
        bin_id, bin_id, order_ref_key(order_ref) if order_ref else "", order_ref_key(order_ref) if order_ref else "",
        item_id, item_id,
    )
    return int(row["id"]) if row and row["id"] is not None else None


async def short_picks(limit: int = 100) -> list[ShortPickView]:
    """Lines picked short, newest first: what a lead has to look at (recount, re-reserve, call)."""
    rows = await db.fetch(
        "SELECT pl.id AS line_id, pl.pick_list_id, o.order_ref, i.sku, l.code AS bin, pl.lot, pl.short_qty,"
        " pl.short_reason AS reason, pl.shorted_at FROM pick_list_lines pl"
        " JOIN order_lines ol ON ol.id = pl.order_line_id JOIN orders o ON o.id = ol.order_id"
        " JOIN items i ON i.id = pl.item_id JOIN locations l ON l.id = pl.location_id"
        " WHERE pl.status = 'short' ORDER BY pl.shorted_at DESC, pl.id DESC LIMIT {}",
        _limit(limit),
    )
    return [ShortPickView(**r) for r in rows]


async def _carton(where: str, value: object) -> CartonView | None:
    row = await db.fetch_one(
        "SELECT c.id, c.code, o.order_ref, c.status, c.shipment_id FROM cartons c"
        f" JOIN orders o ON o.id = c.order_id WHERE {where}",
        value,
    )
    if row is None:
        return None
    lines = await db.fetch_as(
        CartonLineView,
        "SELECT cl.order_line_id, i.sku, i.name AS item_name, cl.lot, cl.qty FROM carton_lines cl"
        " JOIN order_lines ol ON ol.id = cl.order_line_id JOIN items i ON i.id = ol.item_id"
        " WHERE cl.carton_id = {} ORDER BY ol.line_no, cl.lot",
        row["id"],
    )
    return CartonView(**row, lines=tuple(lines))


async def get_carton(carton_id: int) -> CartonView:
    carton = await _carton("c.id = {}", carton_id)
    if carton is None:
        raise UnknownReference(f"No carton #{carton_id}.")
    return carton


async def find_carton_by_code(code: str) -> CartonView | None:
    return await _carton("c.code = {}", code.strip().upper())


async def get_carton_by_key(create_key: str) -> CartonView:
    row = await db.fetch_one("SELECT id FROM cartons WHERE create_key = {}", create_key)
    assert row is not None, "a carton key was claimed without its carton"
    return await get_carton(row["id"])


async def get_shipment(shipment_id: int) -> ShipmentView:
    row = await db.fetch_one(
        "SELECT s.id, o.order_ref, s.carrier, s.tracking FROM shipments s JOIN orders o ON o.id = s.order_id"
        " WHERE s.id = {}",
        shipment_id,
    )
    if row is None:
        raise UnknownReference(f"No shipment #{shipment_id}.")
    cartons = await db.fetch("SELECT code FROM cartons WHERE shipment_id = {} ORDER BY id", shipment_id)
    return ShipmentView(**row, carton_codes=tuple(r["code"] for r in cartons))


async def packing_slip(carton_id: int) -> PackingSlip:
    """What the packing slip of a carton shows (render with documents.packing_slip_pdf)."""
    carton = await get_carton(carton_id)
    order = await get_order(carton.order_ref)
    lines = tuple(SlipLine(li.sku, li.item_name, li.qty, li.lot) for li in carton.lines)
    return PackingSlip(order.order_ref, carton.code, order.warehouse, lines)


async def carton_label(carton_id: int) -> CartonLabel:
    """What the carton label shows (render with documents.carton_label_pdf / carton_label_zpl)."""
    carton = await get_carton(carton_id)
    order = await get_order(carton.order_ref)
    return CartonLabel(carton.code, order.order_ref, order.warehouse, sum(li.qty for li in carton.lines))
