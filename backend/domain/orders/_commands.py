"""Commands on orders for people and integrations: place (API), cancel, hold, release a hold.

Each is one transaction, done once per idempotency key (claimed in the ledger's command_log); a retry
with the same key answers with the order as it is now.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from backend import db
from backend.domain import bounds, idempotency
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import Sku, get_item
from backend.domain.channels import get_channel
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.fulfillment.rules import ORDER_LINES_MAX, ORDER_REF_LENGTH_MAX
from backend.domain.locations.service import get_location
from backend.domain.orders._importing import cancel
from backend.domain.orders._placing import PlacedLine, Placement, advance, insert_order
from backend.domain.orders._rules import add_holds, rule_holds
from backend.domain.orders._transitions import HOLDABLE, OrderStatus, current_status, transition

NOTE_LENGTH_MAX = 500
TEXT_LENGTH_MAX = 40
CENTS_MAX = 10**13

# Bounds the API states and enforces (backend/domain/bounds.py); the checks below give the sentences.
Cents = Annotated[int, msgspec.Meta(ge=0, le=CENTS_MAX)]
OrderRef = Annotated[str, msgspec.Meta(min_length=1, max_length=ORDER_REF_LENGTH_MAX, pattern=bounds.ONE_LINE)]
ShortText = Annotated[str, msgspec.Meta(max_length=TEXT_LENGTH_MAX, pattern=bounds.ONE_LINE)]
NoteText = Annotated[str, msgspec.Meta(max_length=NOTE_LENGTH_MAX, pattern=bounds.ONE_LINE)]


class NewOrderLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: Sku
    qty: bounds.Qty
    dropship: bool = False
    price_cents: Cents = 0


class ShipTo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    country: ShortText = ""
    postcode: ShortText = ""
    address1: bounds.OptionalName = ""


class NewOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An order sent through the API. `channel` (a slug) applies that channel's warehouses and rules;
    `warehouse` ships it from that warehouse only."""

    order_ref: OrderRef
    lines: Annotated[list[NewOrderLine], msgspec.Meta(min_length=1, max_length=ORDER_LINES_MAX)]
    channel: ShortText = ""
    warehouse: ShortText = ""
    ship_to: ShipTo | None = None
    payment: Literal["captured", "pending"] = "captured"
    total_cents: Cents = 0
    carrier: ShortText = ""
    promised_at: datetime | None = None


class OrderNote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    note: NoteText = ""


@dataclass(frozen=True, slots=True)
class OrderChange:
    """What a command did; the API answers with the order's detail after it."""

    order_id: int
    order_ref: str
    status: str
    replayed: bool = False


async def _placement(spec: NewOrder, channel_label: str) -> Placement:
    channel = await get_channel(spec.channel) if spec.channel.strip() else None
    if spec.warehouse.strip():
        warehouse = await get_location(spec.warehouse)
        if warehouse.kind != "warehouse":
            raise InvalidInput(f"{warehouse.code} is a {warehouse.kind}; name the warehouse that ships the order.")
        warehouse_id = warehouse.id
    else:
        row = await db.fetch_one("SELECT id FROM locations WHERE kind = 'warehouse' AND active ORDER BY id LIMIT 1")
        if row is None:
            raise InvalidInput("Set up a warehouse first.")
        warehouse_id = row["id"]
    lines = []
    for n, line in enumerate(spec.lines, start=1):
        item = await get_item(line.sku)
        if item.is_kit or not item.active:
            why = "a kit: order its components" if item.is_kit else "inactive"
            raise InvalidInput(f"Line {n}: {item.sku} is {why}.")
        if not 0 <= line.price_cents <= 10**13:
            raise InvalidInput(f"Line {n}: price_cents must be 0 or more.")
        lines.append(PlacedLine(n, item.id, line.qty, line.dropship, str(n), line.price_cents))
    ship = spec.ship_to or ShipTo()
    country, postcode = ship.country.strip().upper()[:2], ship.postcode.strip()[:16]
    if not 0 <= spec.total_cents <= 10**13 or len(spec.carrier) > TEXT_LENGTH_MAX:
        raise InvalidInput("total_cents must be 0 or more and carrier at most 40 characters.")
    holds = rule_holds(payment=spec.payment, address_complete=bool(country and postcode and ship.address1.strip()),
                       total_cents=spec.total_cents,
                       hold_value_over_cents=channel.hold_value_over_cents if channel else 0,
                       check_address=spec.ship_to is not None)
    return Placement(
        order_ref=spec.order_ref, channel=channel.slug if channel else channel_label, warehouse_id=warehouse_id,
        warehouse_pinned=bool(spec.warehouse.strip()), lines=tuple(lines), channel_id=channel.id if channel else None,
        external_ref=spec.order_ref.strip() if channel else "", ship_country=country, ship_postcode=postcode,
        payment=spec.payment, total_cents=spec.total_cents, carrier=spec.carrier.strip(),
        promised_at=spec.promised_at, holds=tuple(holds))


async def _changed(order_id: int) -> OrderChange:
    status, ref = await current_status(order_id)
    return OrderChange(order_id, ref, status)


async def place_order(spec: NewOrder, *, key: str, actor: Actor, channel_label: str = "api") -> OrderChange:
    """Place an order and take it as far as it goes (reserved, backordered, on hold, released)."""

    async def work() -> OrderChange:
        placement = await _placement(spec, channel_label)
        order_id = await insert_order(placement, key=key, actor=actor)
        status = await advance(order_id, actor=actor, status="imported", placed=placement)
        return OrderChange(order_id, placement.order_ref.strip(), status)

    return await idempotency.run_once("orders.place", spec, key=key, actor=actor.label, work=work,
                                      replay=idempotency.stored_as(OrderChange))


async def _replay_current(value: object) -> OrderChange:
    stored = msgspec.convert(value, OrderChange)
    return dataclasses.replace(await _changed(stored.order_id), replayed=True)


def _note(note: str, required: bool) -> str:
    cleaned = note.strip()
    if required and not cleaned:
        raise InvalidInput("Write a note saying why (it stays on the order's timeline).")
    if len(cleaned) > NOTE_LENGTH_MAX or not cleaned.isprintable():
        raise InvalidInput(f"A note is at most {NOTE_LENGTH_MAX} printable characters.")
    return cleaned


async def cancel_order(order_id: int, note: str, *, key: str, actor: Actor) -> OrderChange:
    """Cancel an order not yet picked; its reservations go back to available stock."""
    note = _note(note, required=False)

    async def work() -> OrderChange:
        status, _ = await current_status(order_id)
        if status == "cancelled":
            raise Conflict("This order is already cancelled.")
        await cancel(order_id, status, key, actor, note or "cancelled by a person")
        return await _changed(order_id)

    return await idempotency.run_once("orders.cancel", {"order_id": order_id, "note": note}, key=key,
                                      actor=actor.label, work=work, replay=_replay_current)


async def hold_order(order_id: int, note: str, *, key: str, actor: Actor) -> OrderChange:
    """Hold an order before it is picked: it keeps its reservations but is not released to the floor."""
    note = _note(note, required=True)

    async def work() -> OrderChange:
        status, ref = await current_status(order_id)
        if status in HOLDABLE:
            await add_holds(order_id, [("manual", note)], actor)
            await transition(order_id, "hold", actor=actor, from_status=status, order_ref=ref, note=note)
        elif status == "on_hold" or status in ("imported", "validated"):
            await add_holds(order_id, [("manual", note)], actor)  # held as soon as it is allocated
        else:
            await transition(order_id, "hold", actor=actor, from_status=status, order_ref=ref)  # IllegalTransition
        return await _changed(order_id)

    return await idempotency.run_once("orders.hold", {"order_id": order_id, "note": note}, key=key,
                                      actor=actor.label, work=work, replay=_replay_current)


async def release_hold(order_id: int, note: str, *, key: str, actor: Actor) -> OrderChange:
    """A manager releases every open hold of the order, with a note; the order then carries on
    (allocation, then release to the floor)."""
    note = _note(note, required=True)

    async def work() -> OrderChange:
        status, ref = await current_status(order_id)
        released = await db.fetch(
            "UPDATE order_holds SET released_at = {}, released_by = {}, release_note = {}"
            " WHERE order_id = {} AND released_at IS NULL RETURNING reason", datetime.now(UTC), actor.label, note,
            order_id)
        if not released:
            raise Conflict(f"Order {ref} has no open hold to release.")
        reasons = sorted(r["reason"] for r in released)
        await audit.record(actor, "order.holds_released", "order", order_id, None, {"reasons": reasons, "note": note})
        if status == "on_hold":
            new: OrderStatus = await transition(order_id, "release_hold", actor=actor, from_status=status,
                                                order_ref=ref, note=note)
            await advance(order_id, actor=actor, status=new)
        return await _changed(order_id)

    return await idempotency.run_once("orders.release_hold", {"order_id": order_id, "note": note}, key=key,
                                      actor=actor.label, work=work, replay=_replay_current)
