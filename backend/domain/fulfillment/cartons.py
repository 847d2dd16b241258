"""Cartons a packer can trust: one open carton per order (a unique index holds it), found again after a
reload, Back or on another handheld; what it holds next to what the order still has to pack; a scan
taken back out; a carton cancelled (its units go back to "picked, to pack"); and no carton ships while
units of its order are picked but in no finished carton.

Like packing, none of this moves stock: a carton is a record of which picked units are in which box.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, InvalidQuantity, WrongScan
from backend.domain.fulfillment.packing import start_carton
from backend.domain.fulfillment.queries import CartonView, OrderView, get_carton, get_order
from backend.domain.fulfillment.rules import carton_code
from backend.domain.fulfillment.scans import find_item_scan
from backend.domain.idempotency import read_again, run_once
from backend.domain.quantities import require_qty


@dataclass(frozen=True, slots=True)
class PackLine:
    """One order line as the packer sees it: this carton's units and what the order still needs."""

    order_line_id: int
    sku: str
    item_name: str
    ordered: int
    in_carton: int
    to_pack: int  # picked, in no carton yet
    not_picked: int  # ordered, neither picked nor short yet

    @property
    def done(self) -> bool:
        return self.to_pack == 0 and self.not_picked == 0


@dataclass(frozen=True, slots=True)
class PackView:
    carton: CartonView
    order: OrderView
    lines: tuple[PackLine, ...]

    @property
    def in_carton(self) -> int:
        return sum(line.in_carton for line in self.lines)

    @property
    def to_pack(self) -> int:
        return sum(line.to_pack for line in self.lines)

    @property
    def not_picked(self) -> int:
        return sum(line.not_picked for line in self.lines)


@dataclass(frozen=True, slots=True)
class CancelledCarton:
    code: str
    order_ref: str
    units: int  # back to "picked, to pack"


async def pack_view(carton_id: int) -> PackView:
    carton = await get_carton(carton_id)
    order = await get_order(carton.order_ref)
    in_carton: dict[int, int] = {}
    for line in carton.lines:
        in_carton[line.order_line_id] = in_carton.get(line.order_line_id, 0) + line.qty
    lines = tuple(
        PackLine(order_line_id=ol.id, sku=ol.sku, item_name=ol.item_name, ordered=ol.qty,
                 in_carton=in_carton.get(ol.id, 0), to_pack=ol.picked_qty - ol.packed_qty,
                 not_picked=max(0, ol.qty - ol.picked_qty - ol.short_qty))
        for ol in order.lines
    )
    return PackView(carton, order, lines)


async def open_carton_of(order_id: int) -> CartonView | None:
    row = await db.fetch_one("SELECT id FROM cartons WHERE order_id = {} AND status = 'open'", order_id)
    return await get_carton(row["id"]) if row else None


async def open_cartons(limit: int = 50) -> list[CartonView]:
    """Open cartons, oldest first: what the packing screen offers to go on with."""
    rows = await db.fetch("SELECT id FROM cartons WHERE status = 'open' ORDER BY id LIMIT {}", max(1, min(limit, 200)))
    return [await get_carton(r["id"]) for r in rows]


async def _units_to_pack(order: OrderView) -> int:
    return sum(line.picked_qty - line.packed_qty for line in order.lines)


async def carton_for_order(order_ref: str, *, key: str, actor: Actor) -> tuple[CartonView, bool]:
    """The order's open carton (and True), or a new one (and False) when some of its units are picked
    and in no carton yet. Nothing picked to pack: refused, no empty carton is opened."""
    order = await get_order(order_ref)
    carton = await open_carton_of(order.id)
    if carton is not None:
        return carton, True
    if await _units_to_pack(order) <= 0:
        picked = sum(line.picked_qty for line in order.lines)
        if picked:
            raise Conflict(f"Everything picked for order {order.order_ref} is packed already. Nothing to pack.")
        raise Conflict(f"Nothing of order {order.order_ref} is picked yet: pick it before packing.")
    return await start_carton(order.order_ref, key=key, actor=actor), False


async def _remove_from_line(carton_id: int, order_line_id: int, lot: str, qty: int) -> None:
    left = await db.fetch_one(
        "SELECT qty FROM carton_lines WHERE carton_id = {} AND order_line_id = {} AND lot = {}",
        carton_id, order_line_id, lot,
    )
    assert left is not None and int(left["qty"]) >= qty, "unpacking more than the carton holds"
    if int(left["qty"]) == qty:
        await db.fetch("DELETE FROM carton_lines WHERE carton_id = {} AND order_line_id = {} AND lot = {}",
                       carton_id, order_line_id, lot)
    else:
        await db.fetch("UPDATE carton_lines SET qty = qty - {}"
                       " WHERE carton_id = {} AND order_line_id = {} AND lot = {}",
                       qty, carton_id, order_line_id, lot)
    updated = await db.fetch(
        "UPDATE order_lines SET packed_qty = packed_qty - {} WHERE id = {} AND packed_qty >= {} RETURNING id",
        qty, order_line_id, qty,
    )
    assert updated, f"order line #{order_line_id} would be packed below zero"


async def _open(carton_id: int) -> CartonView:
    carton = await get_carton(carton_id)
    if carton.status != "open":
        raise Conflict(f"Carton {carton.code} is {carton.status}: only an open carton can change.")
    return carton


async def unpack(carton_id: int, scanned_item_code: str, units: int, *, key: str, actor: Actor) -> CartonView:
    """Take `units` (base units) of an item back out of an open carton, last packed lines first:
    Undo last scan on the packing screen. They are picked and to pack again."""
    require_qty(units)

    async def work() -> CartonView:
        carton = await _open(carton_id)
        scan = await find_item_scan(scanned_item_code)
        if scan is None:
            raise WrongScan(f"{scanned_item_code.strip()!r} is no item in carton {carton.code}.")
        held = [line for line in carton.lines if line.sku == scan.item.sku]
        if sum(line.qty for line in held) < units:
            raise InvalidQuantity(f"Carton {carton.code} holds {sum(li.qty for li in held)} {scan.item.sku},"
                                  f" not {units}. Nothing was taken out.")
        left = units
        for line in reversed(held):
            take = min(left, line.qty)
            await _remove_from_line(carton_id, line.order_line_id, line.lot, take)
            left -= take
            if left == 0:
                break
        await audit.record(actor, "carton.unpack", "carton", carton_id, None,
                           {"code": carton.code, "sku": scan.item.sku, "qty": units})
        return await get_carton(carton_id)

    payload = {"carton_id": carton_id, "item": scanned_item_code.strip(), "qty": units}
    return await run_once("fulfillment.unpack", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(lambda: get_carton(carton_id)))


async def cancel_carton(carton_id: int, *, key: str, actor: Actor) -> CancelledCarton:
    """Cancel an open carton: whatever it holds is picked and to pack again, and the carton is gone (its
    code is never reused). An empty carton opened by mistake goes the same way."""

    async def work() -> CancelledCarton:
        carton = await _open(carton_id)
        for line in carton.lines:
            await _remove_from_line(carton_id, line.order_line_id, line.lot, line.qty)
        await db.fetch("DELETE FROM cartons WHERE id = {} AND status = 'open'", carton_id)
        units = sum(line.qty for line in carton.lines)
        await audit.record(actor, "carton.cancel", "carton", carton_id, {"status": "open", "units": units},
                           {"status": "cancelled", "code": carton.code, "order_ref": carton.order_ref})
        return CancelledCarton(carton.code, carton.order_ref, units)

    async def replay() -> CancelledCarton:
        return CancelledCarton(carton_code(carton_id), "", 0)  # cancelled by this very key before

    return await run_once("fulfillment.cancel_carton", {"carton_id": carton_id}, key=key, actor=actor.label, work=work,
                          replay=read_again(replay))


async def shipping_blockers(order_id: int, order_ref: str) -> str:
    """Why none of an order's cartons may ship yet ("" when they may): an open carton, or picked units
    in no carton. A carton shipped beside a forgotten one is the half-packed order customers get."""
    open_row = await db.fetch_one("SELECT code FROM cartons WHERE order_id = {} AND status = 'open'", order_id)
    if open_row is not None:
        return (f"Carton {open_row['code']} of order {order_ref} is still open: finish or cancel it before "
                "shipping this order.")
    left = await db.fetch_one(
        "SELECT COALESCE(SUM(picked_qty - packed_qty), 0) AS n FROM order_lines WHERE order_id = {}", order_id
    )
    units = int(left["n"]) if left else 0
    if units > 0:
        return f"{units} unit(s) of order {order_ref} are picked but in no carton: pack them before shipping."
    return ""
