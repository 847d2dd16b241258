"""Placing an order (tablet, API or channel) and moving it forward as far as it can go.

One path for every source: insert the order `imported` with its lines (each line's units start
unallocated: `backordered_qty = qty`), open the holds its data calls for, then `advance()`:
imported → validated once every line is mapped to an item; validated → reserved / backordered by
allocation; → on_hold while a hold is open; → released when the order's rules allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import AlreadyExists, InvalidInput
from backend.domain.fulfillment.rules import ORDER_LINES_MAX, check_order_ref, order_ref_key
from backend.domain.orders._reserving import allocate_order
from backend.domain.orders._rules import add_holds, has_open_holds, rules_of
from backend.domain.orders._transitions import Event, OrderStatus, current_status, transition
from backend.domain.quantities import require_qty


@dataclass(frozen=True, slots=True)
class PlacedLine:
    line_no: int
    item_id: int
    qty: int
    dropship: bool = False
    channel_line_ref: str = ""
    price_cents: int = 0


@dataclass(frozen=True, slots=True)
class WaitingLine:
    """A channel line no mapping names an item for yet (the unmapped-SKU queue)."""

    line_no: int
    channel_sku: str
    variant_ref: str
    product_ref: str
    qty: int
    price_cents: int = 0
    channel_line_ref: str = ""


@dataclass(frozen=True, slots=True)
class Placement:
    order_ref: str
    channel: str  # 'manual', 'api' or the channel's slug
    warehouse_id: int  # the pinned warehouse, or the first the order may ship from
    warehouse_pinned: bool
    lines: tuple[PlacedLine, ...]
    waiting: tuple[WaitingLine, ...] = ()
    channel_id: int | None = None
    external_ref: str = ""
    source_version: int = 0
    ship_country: str = ""
    ship_postcode: str = ""
    payment: str = "captured"
    total_cents: int = 0
    carrier: str = ""
    promised_at: datetime | None = None
    holds: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def check_placement(p: Placement) -> str:
    ref = check_order_ref(p.order_ref)
    count = len(p.lines) + len(p.waiting)
    if not 0 < count <= ORDER_LINES_MAX:
        raise InvalidInput(f"An order needs 1–{ORDER_LINES_MAX} lines.")
    every: list[PlacedLine | WaitingLine] = [*p.lines, *p.waiting]
    for line in every:
        require_qty(line.qty, f"Quantity on line {line.line_no}")
    assert len({li.line_no for li in every}) == count, "line numbers are unique"
    return ref


async def insert_lines(order_id: int, p: Placement, now: datetime) -> None:
    if p.lines:
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in p.lines)
        args: list[object] = [v for li in p.lines for v in (order_id, li.line_no, li.item_id, li.qty,
                                              0 if li.dropship else li.qty, li.dropship, li.channel_line_ref,
                                              li.price_cents)]
        await db.fetch("INSERT INTO order_lines (order_id, line_no, item_id, qty, backordered_qty, dropship,"
                       f" channel_line_ref, price_cents) VALUES {values}", *args)
    if p.waiting:
        assert p.channel_id is not None, "only channel lines wait for a mapping"
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in p.waiting)
        args = [v for w in p.waiting for v in (order_id, p.channel_id, w.line_no, w.channel_sku, w.variant_ref,
                                               w.product_ref, w.qty, w.price_cents, w.channel_line_ref, now)]
        await db.fetch("INSERT INTO unmapped_order_lines (order_id, channel_id, line_no, channel_sku, variant_ref,"
                       f" product_ref, qty, price_cents, channel_line_ref, created_at) VALUES {values}", *args)


async def insert_order(p: Placement, *, key: str, actor: Actor, check_lines: bool = True) -> int:
    """The order row and its lines, `imported`, in the caller's transaction; AlreadyExists for a taken number.
    `check_lines=False` records an order the channel cancelled before it sent its lines."""
    ref = check_placement(p) if check_lines else check_order_ref(p.order_ref)
    now = datetime.now(UTC)
    row = await db.fetch_one(
        "INSERT INTO orders (order_ref, ref_key, channel, external_ref, warehouse_id, status, create_key, created_at,"
        " channel_id, source_version, ship_country, ship_postcode, payment, total_cents, carrier, promised_at,"
        " warehouse_pinned) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT (ref_key) DO NOTHING RETURNING id",
        ref, order_ref_key(ref), p.channel, p.external_ref, p.warehouse_id, "imported", key, now, p.channel_id,
        p.source_version, p.ship_country, p.ship_postcode, p.payment, p.total_cents, p.carrier,
        p.promised_at or now, p.warehouse_pinned,
    )
    if row is None:  # the number is taken (nothing was written: the transaction goes on)
        existing = await db.fetch_one("SELECT order_ref FROM orders WHERE ref_key = {}", order_ref_key(ref))
        raise AlreadyExists(f"Order {existing['order_ref'] if existing else ref} already exists."
                            " Use another order number.")
    await insert_lines(row["id"], p, now)
    await audit.record(actor, "order.create", "order", row["id"], None,
                       {"order_ref": ref, "channel": p.channel, "status": "imported", "lines": len(p.lines),
                        "unmapped_lines": len(p.waiting), "external_ref": p.external_ref})
    await add_holds(row["id"], list(p.holds), actor)
    return int(row["id"])


async def _unmapped_lines(order_id: int) -> int:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM unmapped_order_lines WHERE order_id = {}", order_id)
    return int(row["n"]) if row else 0


async def advance(order_id: int, *, actor: Actor, status: OrderStatus | None = None,
                  placed: Placement | None = None) -> OrderStatus:
    """Move the order forward as far as its data, stock, holds and rules allow (caller's transaction).
    `placed`: the order was just inserted from it, so its unmapped lines and holds are known."""
    ref = ""
    if status is None:
        status, ref = await current_status(order_id)
    if status == "imported":
        if bool(placed.waiting) if placed is not None else await _unmapped_lines(order_id):
            return status  # waits in the unmapped-SKU queue; a new mapping brings it back here
        status = await transition(order_id, "validate", actor=actor, from_status=status, order_ref=ref)
    rules = None
    if status == "validated":
        rules = await rules_of(order_id)
        backordered = await allocate_order(order_id, actor=actor, rules=rules)
        event: Event = "backorder" if backordered else "reserve"
        status = await transition(order_id, event, actor=actor, from_status=status, order_ref=ref,
                                  detail={"backordered": backordered} if backordered else None)
    if status in ("reserved", "backordered"):
        if bool(placed.holds) if placed is not None else await has_open_holds(order_id):
            return await transition(order_id, "hold", actor=actor, from_status=status, order_ref=ref)
        rules = rules or await rules_of(order_id)
        if rules.auto_release and (status == "reserved" or rules.release_partial):
            status = await transition(order_id, "release", actor=actor, from_status=status, order_ref=ref)
    return status
