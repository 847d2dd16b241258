"""Purchase orders: drafts (by hand, or from approved replenishment suggestions), sent, cancelled,
closed, and read with what has arrived (from the ledger, _received.py).

Every command is one transaction under an idempotency key (`idempotency.run_keyed`): a retry answers with
what the first request did and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import msgspec

from backend import db
from backend.domain import bounds
from backend.domain.auth import audit
from backend.domain.catalog.service import Sku, get_item, items_by_id
from backend.domain.errors import Conflict, InvalidInput, UnknownReference
from backend.domain.idempotency import Outcome, run_keyed
from backend.domain.locations.service import (
    LocationCode,
    get_location,
    get_location_by_id,
)
from backend.domain.purchasing._received import line_receipts
from backend.domain.purchasing._status import (
    PO_STATUSES,
    PoStatus,
    next_status,
    transition,
)
from backend.domain.purchasing._suppliers import (
    SupplierCode,
    UnitCostMinor,
    UnknownSupplier,
    find_supplier,
    get_supplier,
)
from backend.domain.quantities import QTY_MAX

PO_LINES_MAX = 1_000
DRAFT_ORDERS_MAX = 500  # orders made by one approval of suggestions
ORDERS_PAGE_MAX = 200
PO_NUMBER_DIGITS = 6


class DraftLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    item_id: bounds.Id
    qty: bounds.Qty  # base units
    unit_cost_minor: UnitCostMinor | None = None  # None: the supplier's price for the item (0 if none)


class DraftOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One supplier's lines for one receiving warehouse; the same item twice is one line of the sum."""

    supplier_id: bounds.Id
    warehouse_id: bounds.Id
    lines: Annotated[list[DraftLine], msgspec.Meta(min_length=1, max_length=PO_LINES_MAX)]
    note: bounds.Text = ""


class PoLineView(msgspec.Struct, frozen=True):
    id: int
    item_id: int
    sku: str
    item_name: str
    base_unit: str
    qty_ordered: int
    qty_received: int
    unit_cost_minor: int

    @property
    def qty_open(self) -> int:
        return max(self.qty_ordered - self.qty_received, 0)


class PurchaseOrderView(msgspec.Struct, frozen=True):
    id: int
    number: str
    status: PoStatus
    supplier_id: int
    supplier_code: str
    supplier_name: str
    warehouse_id: int
    warehouse_code: str
    currency: str
    created_at: datetime
    sent_at: datetime | None
    expected_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    created_by: str
    note: str
    lines: list[PoLineView] = []

    @property
    def total_minor(self) -> int:
        return sum(line.qty_ordered * line.unit_cost_minor for line in self.lines)

    @property
    def qty_ordered(self) -> int:
        return sum(line.qty_ordered for line in self.lines)

    @property
    def qty_received(self) -> int:
        return sum(line.qty_received for line in self.lines)

    @property
    def qty_open(self) -> int:
        return sum(line.qty_open for line in self.lines)


class UnknownPurchaseOrder(UnknownReference):
    code = "unknown_purchase_order"

    def __init__(self, what: str) -> None:
        super().__init__(f"No purchase order {what}.")


_ORDER_SELECT = (
    "SELECT p.id, p.number, p.status, p.supplier_id, s.code AS supplier_code, s.name AS supplier_name,"
    " p.warehouse_id, w.code AS warehouse_code, p.currency, p.created_at, p.sent_at, p.expected_at, p.closed_at,"
    " p.cancelled_at, p.created_by, p.note FROM purchase_orders p JOIN suppliers s ON s.id = p.supplier_id"
    " JOIN locations w ON w.id = p.warehouse_id"
)


async def _views(where: str, *args: Any, limit: int = ORDERS_PAGE_MAX) -> list[PurchaseOrderView]:
    rows = await db.fetch(f"{_ORDER_SELECT} WHERE {where} ORDER BY p.id DESC LIMIT {{}}", *args, limit)
    heads = msgspec.convert(rows, list[PurchaseOrderView], strict=False)
    receipts = await line_receipts([h.id for h in heads])
    items = await items_by_id(sorted({r.item_id for lines in receipts.values() for r in lines}))
    return [msgspec.structs.replace(h, lines=[
        PoLineView(r.line_id, r.item_id, items[r.item_id].sku, items[r.item_id].name, items[r.item_id].base_unit,
                   r.qty_ordered, r.received, r.unit_cost_minor) for r in receipts[h.id]]) for h in heads]


async def get_order(po_id: int) -> PurchaseOrderView:
    found = await _views("p.id = {}", po_id, limit=1)
    if not found:
        raise UnknownPurchaseOrder(f"#{po_id}")
    return found[0]


async def find_order_by_number(number: str) -> PurchaseOrderView | None:
    found = await _views("p.number = {}", number.strip().upper(), limit=1)
    return found[0] if found else None


async def list_orders(status: PoStatus | None = None, *, supplier_id: int | None = None, before_id: int = 0,
                      limit: int = ORDERS_PAGE_MAX) -> list[PurchaseOrderView]:
    """Newest first (ids below `before_id`, a cursor), with their lines and what arrived; one status, or all."""
    if status is not None and status not in PO_STATUSES:
        raise InvalidInput(f"No purchase order status {status!r}.")
    return await _views("({} = '' OR p.status = {}) AND ({} = 0 OR p.supplier_id = {}) AND ({} = 0 OR p.id < {})",
                        status or "", status or "", supplier_id or 0, supplier_id or 0, before_id, before_id,
                        limit=max(1, min(limit, ORDERS_PAGE_MAX)))


def po_number(po_id: int) -> str:
    return f"PO-{po_id:0{PO_NUMBER_DIGITS}d}"


async def create_draft_orders(orders: list[DraftOrder], *, actor: audit.Actor, key: str) -> list[int]:
    """Draft purchase orders, one per DraftOrder, all in one transaction; returns their ids in order.
    Replenishment's "approve suggestions" calls this with the approved lines grouped by supplier and
    warehouse; a retry with the same key returns the same ids."""
    return (await create_draft_orders_once(orders, actor=actor, key=key)).value


async def create_draft_orders_once(orders: list[DraftOrder], *, actor: audit.Actor, key: str) -> Outcome[list[int]]:
    """create_draft_orders, telling a retry (`replayed`) from the first request."""
    if not 1 <= len(orders) <= DRAFT_ORDERS_MAX:
        raise InvalidInput(f"Draft 1–{DRAFT_ORDERS_MAX} purchase orders at a time.")
    checked = [bounds.checked(o, "Purchase order") for o in orders]

    async def work() -> list[int]:
        return [await _insert_draft(o, actor) for o in checked]

    async def again(stored: Any) -> list[int]:
        return [int(i) for i in stored]

    payload = {"orders": msgspec.to_builtins(checked)}
    return await run_keyed("PurchaseOrderDraft", payload, key=key, actor=actor.label, work=work, again=again)


class NewPurchaseOrderLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    sku: Sku
    qty: bounds.Qty  # base units
    unit_cost_minor: UnitCostMinor | None = None  # None: the supplier's price for the item (0 if none)


class NewPurchaseOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A draft by codes, as an integrator or a manager names things (DraftOrder names them by id)."""

    supplier: SupplierCode
    warehouse: LocationCode
    lines: Annotated[list[NewPurchaseOrderLine], msgspec.Meta(min_length=1, max_length=PO_LINES_MAX)]
    note: bounds.Text = ""


async def create_order_once(spec: NewPurchaseOrder, *, actor: audit.Actor, key: str) -> Outcome[PurchaseOrderView]:
    """One draft purchase order from codes (supplier, warehouse, SKUs), once per key."""
    bounds.checked(spec, "Purchase order")

    async def work() -> int:
        supplier = await find_supplier(spec.supplier)
        if supplier is None:
            raise UnknownSupplier(spec.supplier)
        warehouse = await get_location(spec.warehouse)
        lines = [DraftLine(item_id=(await get_item(line.sku)).id, qty=line.qty, unit_cost_minor=line.unit_cost_minor)
                 for line in spec.lines]
        return await _insert_draft(DraftOrder(supplier_id=supplier.id, warehouse_id=warehouse.id, lines=lines,
                                              note=spec.note), actor)

    done = await run_keyed("PurchaseOrderCreate", spec, key=key, actor=actor.label, work=work, again=_id)
    return Outcome(await get_order(done.value), done.replayed)


async def _insert_draft(order: DraftOrder, actor: audit.Actor) -> int:
    supplier = await get_supplier(order.supplier_id)
    if not supplier.active:
        raise Conflict(f"Supplier {supplier.code} is inactive: make it active before ordering from it.")
    warehouse = await get_location_by_id(order.warehouse_id)
    if warehouse.kind != "warehouse":
        raise InvalidInput(f"{warehouse.code} is a {warehouse.kind}: purchase orders are received by a warehouse.")
    qty: dict[int, int] = {}
    cost: dict[int, int | None] = {}
    for line in order.lines:
        qty[line.item_id] = qty.get(line.item_id, 0) + line.qty
        cost[line.item_id] = line.unit_cost_minor if line.unit_cost_minor is not None else cost.get(line.item_id)
    items = await items_by_id(sorted(qty))
    for item_id in qty:
        item = items.get(item_id)
        if item is None:
            raise UnknownReference(f"No item #{item_id}.")
        if item.is_kit:
            raise InvalidInput(f"{item.sku} is a kit: order its components instead.")
    prices = await _supplier_prices(order.supplier_id, sorted(qty))
    now = datetime.now(UTC)
    row = await db.fetch_one(
        "INSERT INTO purchase_orders (number, supplier_id, warehouse_id, status, currency, created_at, updated_at,"
        " created_by, note) VALUES ({}, {}, {}, 'draft', {}, {}, {}, {}, {}) RETURNING id",
        f"draft-{uuid.uuid4().hex}", supplier.id, warehouse.id, supplier.currency, now, now, actor.label, order.note)
    assert row is not None
    po_id = int(row["id"])
    await db.fetch("UPDATE purchase_orders SET number = {} WHERE id = {}", po_number(po_id), po_id)
    for item_id in sorted(qty):
        unit_cost = cost[item_id]
        await db.fetch("INSERT INTO purchase_order_lines (purchase_order_id, item_id, qty_ordered, unit_cost_minor)"
                       " VALUES ({}, {}, {}, {})", po_id, item_id, qty[item_id],
                       unit_cost if unit_cost is not None else prices.get(item_id, 0))
    await audit.record(actor, "purchase_order.draft", "purchase_order", po_id,
                       after={"number": po_number(po_id), **msgspec.to_builtins(order)})
    return po_id


async def _supplier_prices(supplier_id: int, item_ids: list[int]) -> dict[int, int]:
    marks = ", ".join("{}" for _ in item_ids)
    rows = await db.fetch(f"SELECT item_id, unit_cost_minor FROM supplier_items WHERE supplier_id = {{}}"
                          f" AND item_id IN ({marks})", supplier_id, *item_ids)
    return {int(r["item_id"]): int(r["unit_cost_minor"]) for r in rows}


async def send_order(po_id: int, *, actor: audit.Actor, key: str, expected_on: date | None = None) -> PurchaseOrderView:
    """Draft → sent. Expected on the given day, or the supplier's lead time after today."""
    return (await send_order_once(po_id, actor=actor, key=key, expected_on=expected_on)).value


async def send_order_once(po_id: int, *, actor: audit.Actor, key: str,
                          expected_on: date | None = None) -> Outcome[PurchaseOrderView]:

    async def work() -> int:
        po = await get_order(po_id)
        now = datetime.now(UTC)
        if expected_on is not None:
            expected = datetime.combine(expected_on, time(12), UTC)
        else:
            expected = now + timedelta(days=(await get_supplier(po.supplier_id)).lead_time_days)
        await transition(po.id, po.number, po.status, "send", actor=actor,
                         extra={"sent_at": now, "expected_at": expected})
        return po.id

    payload = {"po_id": po_id, "expected_on": expected_on.isoformat() if expected_on else ""}
    return await _keyed("PurchaseOrderSend", payload, key, actor, work)


async def cancel_order(po_id: int, *, actor: audit.Actor, key: str, reason: str = "") -> PurchaseOrderView:
    """Draft or sent → cancelled, never once anything was received against it."""
    return (await cancel_order_once(po_id, actor=actor, key=key, reason=reason)).value


async def cancel_order_once(po_id: int, *, actor: audit.Actor, key: str,
                            reason: str = "") -> Outcome[PurchaseOrderView]:

    async def work() -> int:
        po = await get_order(po_id)
        next_status(po.status, "cancel", po.number)  # the status's own refusal first
        if po.qty_received > 0:
            raise Conflict(f"{po.qty_received} unit(s) were received against {po.number}: close it instead of "
                           "cancelling it.")
        extra = {"note": f"{po.note}\nCancelled: {reason.strip()}".strip()} if reason.strip() else None
        await transition(po.id, po.number, po.status, "cancel", actor=actor, extra=extra)
        return po.id

    return await _keyed("PurchaseOrderCancel", {"po_id": po_id, "reason": reason}, key, actor, work)


async def close_order(po_id: int, *, actor: audit.Actor, key: str) -> PurchaseOrderView:
    """Partially received or received → closed: nothing more is expected (a shortfall is accepted)."""
    return (await close_order_once(po_id, actor=actor, key=key)).value


async def close_order_once(po_id: int, *, actor: audit.Actor, key: str) -> Outcome[PurchaseOrderView]:

    async def work() -> int:
        po = await get_order(po_id)
        short = f"Closed short: {po.qty_open} unit(s) never arrived."
        extra = {"note": f"{po.note}\n{short}".strip()} if po.qty_open else None
        await transition(po.id, po.number, po.status, "close", actor=actor, extra=extra)
        return po.id

    return await _keyed("PurchaseOrderClose", {"po_id": po_id}, key, actor, work)


async def set_draft_line(po_id: int, sku: str, qty: int, *, actor: audit.Actor, key: str) -> PurchaseOrderView:
    """A draft's line for `sku` set to `qty` base units: added (at the supplier's price), changed, or removed
    with 0. Only a draft changes this way (once sent, the supplier holds it); its last line cannot be removed
    (cancel the order instead)."""
    return (await set_draft_line_once(po_id, sku, qty, actor=actor, key=key)).value


async def set_draft_line_once(po_id: int, sku: str, qty: int, *, actor: audit.Actor,
                              key: str) -> Outcome[PurchaseOrderView]:
    if isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty <= QTY_MAX:
        raise InvalidInput(f"Quantity is a whole number from 0 (remove the line) to {QTY_MAX:,}.")
    item = await get_item(sku)
    if item.is_kit:
        raise InvalidInput(f"{item.sku} is a kit: order its components instead.")

    async def work() -> int:
        po = await get_order(po_id)
        # Locks the order and re-checks it is a draft, so a send in between cannot slip past.
        if not await db.fetch("UPDATE purchase_orders SET updated_at = {} WHERE id = {} AND status = 'draft'"
                              " RETURNING id", datetime.now(UTC), po.id):
            raise Conflict(f"{po.number} is {po.status.replace('_', ' ')}: only a draft's lines can change.")
        before = next((line.qty_ordered for line in po.lines if line.item_id == item.id), 0)
        if qty == 0 and before and len(po.lines) == 1:
            raise Conflict(f"{item.sku} is the only line of {po.number}: cancel the order instead.")
        if qty == 0 and not before:
            raise InvalidInput(f"{item.sku} is not on {po.number}.")
        if qty == 0:
            await db.fetch("DELETE FROM purchase_order_lines WHERE purchase_order_id = {} AND item_id = {}",
                           po.id, item.id)
        elif before:
            await db.fetch("UPDATE purchase_order_lines SET qty_ordered = {} WHERE purchase_order_id = {}"
                           " AND item_id = {}", qty, po.id, item.id)
        else:
            if len(po.lines) >= PO_LINES_MAX:
                raise InvalidInput(f"{po.number} has {PO_LINES_MAX:,} lines already: start another order.")
            price = (await _supplier_prices(po.supplier_id, [item.id])).get(item.id, 0)
            await db.fetch("INSERT INTO purchase_order_lines (purchase_order_id, item_id, qty_ordered, unit_cost_minor)"
                           " VALUES ({}, {}, {}, {})", po.id, item.id, qty, price)
        await audit.record(actor, "purchase_order.line", "purchase_order", po.id,
                           before={"sku": item.sku, "qty_ordered": before}, after={"sku": item.sku, "qty_ordered": qty})
        return po.id

    return await _keyed("PurchaseOrderLine", {"po_id": po_id, "item_id": item.id, "qty": qty}, key, actor, work)


async def _keyed(kind: str, payload: dict[str, Any], key: str, actor: audit.Actor,
                 work: Callable[[], Awaitable[int]]) -> Outcome[PurchaseOrderView]:
    outcome = await run_keyed(kind, payload, key=key, actor=actor.label, work=work, again=_id)
    return Outcome(await get_order(outcome.value), outcome.replayed)


async def _id(stored: Any) -> int:
    return int(stored)
