"""A lead's manual order on the tablet: placed through the orders area like every other order
(backend/domain/orders), pinned to one warehouse and released with whatever could be reserved."""

from __future__ import annotations

import msgspec

from backend import db
from backend.domain import orders
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView, get_item
from backend.domain.errors import InvalidInput
from backend.domain.fulfillment.queries import OrderView, get_order_by_id
from backend.domain.fulfillment.rules import ORDER_LINES_MAX, check_order_ref
from backend.domain.idempotency import read_again, run_once
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


async def create_manual_order(spec: NewManualOrder, *, key: str, actor: Actor) -> OrderView:
    """Create an order and reserve its lines from bins in walk order; what is missing is backordered
    (and allocated when stock arrives). The order is released at once: a lead typed it to have it picked.

    An order is never refused for lack of stock: the lead sees backordered quantities per line.
    """
    ref = _check_spec(spec)

    async def work() -> OrderView:
        warehouse = await _warehouse(spec.warehouse)
        items = [await _orderable(line.sku) for line in spec.lines]
        lines = tuple(orders.PlacedLine(n, item.id, line.qty)
                      for n, (item, line) in enumerate(zip(items, spec.lines, strict=True), start=1))
        placement = orders.Placement(order_ref=ref, channel="manual", warehouse_id=warehouse.id,
                                     warehouse_pinned=True, lines=lines)
        order_id = await orders.insert_order(placement, key=key, actor=actor)
        await orders.advance(order_id, actor=actor, status="imported", placed=placement)
        return await get_order_by_id(order_id)

    async def replay() -> OrderView:
        row = await db.fetch_one("SELECT id FROM orders WHERE create_key = {}", key)
        assert row is not None, "an order key was claimed without its order"
        return await get_order_by_id(row["id"])

    payload = {"spec": msgspec.to_builtins(spec), "channel": "manual", "external_ref": ""}
    return await run_once("fulfillment.place_order", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(replay))
