"""Ship confirm: finished cartons leave staging for the customer through the ledger `Ship`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from backend import db
from backend.domain import orders as lifecycle
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, UnknownReference
from backend.domain.fulfillment.cartons import shipping_blockers
from backend.domain.fulfillment.queries import (
    CartonView,
    OrderView,
    ShipmentView,
    find_carton_by_code,
    find_order,
    get_carton,
    get_order,
    get_shipment,
)
from backend.domain.fulfillment.rules import check_carrier, check_tracking
from backend.domain.idempotency import derived_key, read_again, run_once
from backend.domain.ledger import commands as ledger
from backend.domain.locations.service import get_location, staging_of


def _require_closed(carton: CartonView) -> None:
    if carton.status == "open":
        raise Conflict(f"Carton {carton.code} is not finished. Finish packing it before shipping.")
    if carton.status == "shipped":
        raise Conflict(f"Carton {carton.code} has already shipped.")


async def _cartons_to_ship(scanned: str) -> tuple[OrderView, list[CartonView]]:
    """A carton label ships that carton; an order number ships all of the order's finished cartons."""
    carton = await find_carton_by_code(scanned)
    if carton is not None:
        _require_closed(carton)
        return await get_order(carton.order_ref), [carton]
    order = await find_order(scanned)
    if order is None:
        raise UnknownReference(f"No carton or order {scanned.strip()!r}. Scan the carton label.")
    rows = await db.fetch("SELECT id FROM cartons WHERE order_id = {} AND status <> 'shipped' ORDER BY id",
                          order.id)
    cartons = [await get_carton(r["id"]) for r in rows]
    for c in cartons:
        _require_closed(c)
    if not cartons:
        raise Conflict(f"Nothing packed to ship for order {order.order_ref}. Finish a carton first.")
    return order, cartons


async def _insert_shipment(order: OrderView, cartons: list[CartonView], carrier: str, tracking: str,
                           key: str) -> int:
    row = await db.fetch_one(
        "INSERT INTO shipments (order_id, carrier, tracking, create_key, created_at) VALUES ({}, {}, {}, {}, {})"
        " RETURNING id",
        order.id, carrier, tracking, key, datetime.now(UTC),
    )
    assert row is not None
    for c in cartons:
        updated = await db.fetch(
            "UPDATE cartons SET status = 'shipped', shipment_id = {} WHERE id = {} AND status = 'closed'"
            " RETURNING id",
            row["id"], c.id,
        )
        if not updated:
            raise Conflict(f"Carton {c.code} changed while you worked. Scan it again.")
    return int(row["id"])


async def _staging_codes(order: OrderView, cartons: list[CartonView]) -> dict[int, str]:
    """Each carton's staging area: where the stock picked in its warehouse waits (a split order has two)."""
    marks = ", ".join("{}" for _ in cartons)
    rows = await db.fetch(f"SELECT id, warehouse_id FROM cartons WHERE id IN ({marks})", *[c.id for c in cartons])
    own = (await get_location(order.warehouse)).id
    return {r["id"]: (await staging_of(r["warehouse_id"] or own)).code for r in rows}


async def _post_shipment(order: OrderView, cartons: list[CartonView], key: str, actor: Actor) -> dict[int, int]:
    """One ledger Ship per staging area, item and lot; returns the shipped quantity per order line."""
    per_sku_lot: dict[tuple[str, str, str], int] = defaultdict(int)
    per_line: dict[int, int] = defaultdict(int)
    staging = await _staging_codes(order, cartons)
    for carton in cartons:
        for line in carton.lines:
            per_sku_lot[(staging[carton.id], line.sku, line.lot)] += line.qty
            per_line[line.order_line_id] += line.qty
    for n, ((stage, sku, lot), qty) in enumerate(sorted(per_sku_lot.items()), start=1):
        ship = ledger.Ship(sku=sku, qty=qty, from_location=stage, lot=lot, doc_ref=order.order_ref)
        await ledger.execute(ship, key=derived_key(key, f"ship:{n}"), actor=actor.label)
    return per_line


async def _record_shipped(order: OrderView, per_line: dict[int, int], actor: Actor) -> str:
    """Count shipped units per line; the order is shipped once every unit ordered from the warehouse
    has shipped (dropship lines go from the supplier)."""
    for order_line_id, qty in sorted(per_line.items()):
        updated = await db.fetch(
            "UPDATE order_lines SET shipped_qty = shipped_qty + {} WHERE id = {} AND shipped_qty + {} <= packed_qty"
            " RETURNING id",
            qty, order_line_id, qty,
        )
        assert updated, f"order line #{order_line_id} would ship more than was packed"
    owed = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM order_lines WHERE order_id = {} AND NOT dropship AND shipped_qty < qty", order.id
    )
    event = "ship" if owed is not None and int(owed["n"]) == 0 else "ship_partial"
    return await lifecycle.transition(order.id, event, actor=actor, from_status=order.status,  # type: ignore[arg-type]
                                      order_ref=order.order_ref)


async def confirm_shipment(carton_code_or_order_ref: str, carrier: str, tracking: str,
                           *, key: str, actor: Actor) -> ShipmentView:
    """Hand finished cartons to a carrier: stock moves staging → customer, the shipment is recorded.

    An order whose backordered or short units are still owed becomes `partially_shipped`.
    """
    carrier, tracking = check_carrier(carrier), check_tracking(tracking)

    async def work() -> ShipmentView:
        order, cartons = await _cartons_to_ship(carton_code_or_order_ref)
        blocked = await shipping_blockers(order.id, order.order_ref)  # nothing ships half-packed
        if blocked:
            raise Conflict(blocked)
        shipment_id = await _insert_shipment(order, cartons, carrier, tracking, key)
        status = await _record_shipped(order, await _post_shipment(order, cartons, key, actor), actor)
        await audit.record(actor, "shipment.confirm", "shipment", shipment_id, {"order_status": order.status},
                           {"order_ref": order.order_ref, "order_status": status, "carrier": carrier,
                            "tracking": tracking, "cartons": [c.code for c in cartons]})
        return await get_shipment(shipment_id)

    async def replay() -> ShipmentView:
        row = await db.fetch_one("SELECT id FROM shipments WHERE create_key = {}", key)
        assert row is not None, "a shipment key was claimed without its shipment"
        return await get_shipment(row["id"])

    payload = {"scanned": carton_code_or_order_ref.strip(), "carrier": carrier, "tracking": tracking}
    return await run_once("fulfillment.confirm_shipment", payload, key=key, actor=actor.label, work=work,
                          replay=read_again(replay))
