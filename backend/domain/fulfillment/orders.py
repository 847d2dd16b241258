"""Placing an order: one row per order and line, stock reserved per line, the rest backordered.

Manual orders (a lead on a tablet) and, later, channel orders (webhooks, imports) share
`_place_order`; only `channel` and `external_ref` differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView, get_item
from backend.domain.errors import AlreadyExists, InvalidInput
from backend.domain.fulfillment.allocation import Allocation, BinStock, allocate
from backend.domain.fulfillment.idempotency import run_once, sub_key
from backend.domain.fulfillment.queries import OrderView, get_order_by_id
from backend.domain.fulfillment.rules import ORDER_LINES_MAX, check_order_ref, order_ref_key
from backend.domain.ledger import commands as ledger
from backend.domain.locations.service import LocationView, get_location
from backend.domain.quantities import require_qty


class OrderLineSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: str
    qty: int  # base units


class NewManualOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    order_ref: str
    lines: list[OrderLineSpec]
    warehouse: str = ""  # warehouse code; empty = the only warehouse there is


def _check_spec(spec: NewManualOrder) -> str:
    ref = check_order_ref(spec.order_ref)
    if not spec.lines or len(spec.lines) > ORDER_LINES_MAX:
        raise InvalidInput(f"An order needs 1–{ORDER_LINES_MAX} lines.")
    for n, line in enumerate(spec.lines, start=1):
        require_qty(line.qty, f"Quantity on line {n}")
    return ref


async def _warehouse(code: str) -> LocationView:
    if code.strip():
        loc = await get_location(code)
        if loc.kind != "warehouse":
            raise InvalidInput(f"{loc.code} is a {loc.kind}; choose the warehouse that ships the order.")
        return loc
    rows = await db.fetch("SELECT code FROM locations WHERE kind = 'warehouse' AND active ORDER BY id LIMIT 2")
    if len(rows) != 1:
        raise InvalidInput("Choose the warehouse that ships this order." if rows else "Set up a warehouse first.")
    return await get_location(rows[0]["code"])


async def _orderable(sku: str) -> ItemView:
    item = await get_item(sku)
    if item.is_kit:
        raise InvalidInput(f"{item.sku} is a kit: order its components for now.")
    if not item.active:
        raise InvalidInput(f"{item.sku} is inactive and cannot be ordered.")
    return item


async def _free_stock_in_bins(item: ItemView, warehouse: LocationView) -> list[BinStock]:
    # On Postgres the rows are locked until commit, so the Reserve that follows cannot find
    # them taken by a concurrent order. SQLite needs no lock: BEGIN IMMEDIATE serializes writers.
    lock = " FOR UPDATE OF b" if db.is_postgres() else ""
    rows = await db.fetch(
        "SELECT l.code, l.walk_seq, b.lot, b.on_hand - b.reserved - b.quarantined - b.damaged AS available"
        " FROM balances b JOIN locations l ON l.id = b.location_id"
        " WHERE b.item_id = {} AND l.warehouse_id = {} AND l.kind = 'bin' AND l.active"
        " AND b.on_hand - b.reserved - b.quarantined - b.damaged > 0"
        f" ORDER BY b.id{lock}",
        item.id, warehouse.id,
    )
    return [BinStock(r["code"], r["walk_seq"], r["lot"], int(r["available"])) for r in rows]


async def _reserve(item: ItemView, allocation: Allocation, ref: str, key: str, actor: Actor) -> list[int]:
    if not allocation.takes:
        return []
    lines = [ledger.ReserveLine(sku=item.sku, qty=qty, location=b.location, lot=b.lot) for b, qty in allocation.takes]
    result = await ledger.execute(ledger.Reserve(lines=lines, order_ref=ref, doc_ref=ref), key=key, actor=actor.label)
    return result.reservation_ids


async def _insert_line(order_id: int, line_no: int, item: ItemView, qty: int, backordered: int) -> int:
    row = await db.fetch_one(
        "INSERT INTO order_lines (order_id, line_no, item_id, qty, backordered_qty)"
        " VALUES ({}, {}, {}, {}, {}) RETURNING id",
        order_id, line_no, item.id, qty, backordered,
    )
    assert row is not None
    return row["id"]


@dataclass(frozen=True, slots=True)
class _Placing:
    """The order being placed, as the per-line steps need it."""

    order_id: int
    ref: str
    warehouse: LocationView
    key: str
    actor: Actor


async def _reserve_line(o: _Placing, line_no: int, item: ItemView, qty: int) -> dict[str, object]:
    allocation = allocate(qty, await _free_stock_in_bins(item, o.warehouse))
    reservation_ids = await _reserve(item, allocation, o.ref, sub_key(o.key, f"reserve:{line_no}"), o.actor)
    line_id = await _insert_line(o.order_id, line_no, item, qty, allocation.backordered)
    for reservation_id in reservation_ids:
        await db.fetch("INSERT INTO order_reservations (order_line_id, reservation_id) VALUES ({}, {})",
                       line_id, reservation_id)
    return {"line": line_no, "sku": item.sku, "qty": qty, "backordered": allocation.backordered}


async def _insert_order(ref: str, channel: str, external_ref: str, warehouse: LocationView, key: str) -> int:
    existing = await db.fetch_one("SELECT order_ref FROM orders WHERE ref_key = {}", order_ref_key(ref))
    if existing is not None:
        raise AlreadyExists(f"Order {existing['order_ref']} already exists. Use another order number.")
    row = await db.fetch_one(
        "INSERT INTO orders (order_ref, ref_key, channel, external_ref, warehouse_id, status, create_key, created_at)"
        " VALUES ({}, {}, {}, {}, {}, 'open', {}, {}) RETURNING id",
        ref, order_ref_key(ref), channel, external_ref, warehouse.id, key, datetime.now(UTC),
    )
    assert row is not None
    return row["id"]


async def _place_order(spec: NewManualOrder, channel: str, external_ref: str, key: str, actor: Actor) -> OrderView:
    ref = _check_spec(spec)

    async def work() -> OrderView:
        warehouse = await _warehouse(spec.warehouse)
        items = [await _orderable(line.sku) for line in spec.lines]
        order_id = await _insert_order(ref, channel, external_ref, warehouse, key)
        placing = _Placing(order_id, ref, warehouse, key, actor)
        numbered = [(n, item, line.qty) for n, (item, line) in enumerate(zip(items, spec.lines, strict=True), 1)]
        placed: dict[int, dict[str, object]] = {}
        # Lines are reserved in item order so that two orders lock balance rows in the same order.
        for line_no, item, qty in sorted(numbered, key=lambda n: (n[1].id, n[0])):
            placed[line_no] = await _reserve_line(placing, line_no, item, qty)
        after = {"order_ref": ref, "channel": channel, "warehouse": warehouse.code,
                 "lines": [placed[n] for n in sorted(placed)]}
        await audit.record(actor, "order.create", "order", order_id, None, after)
        return await get_order_by_id(order_id)

    async def replay() -> OrderView:
        row = await db.fetch_one("SELECT id FROM orders WHERE create_key = {}", key)
        assert row is not None, "an order key was claimed without its order"
        return await get_order_by_id(row["id"])

    payload = {"spec": msgspec.to_builtins(spec), "channel": channel, "external_ref": external_ref}
    return await run_once("place_order", payload, key=key, actor=actor, work=work, replay=replay)


async def create_manual_order(spec: NewManualOrder, *, key: str, actor: Actor) -> OrderView:
    """Create an order and reserve its lines from bins in walk order; what is missing is backordered.

    An order is never refused for lack of stock: the lead sees backordered quantities per line.
    """
    return await _place_order(spec, "manual", "", key, actor)
