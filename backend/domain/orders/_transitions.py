"""The order lifecycle in one place: the statuses, every allowed transition, and the one function
that changes an order's status (guarded UPDATE + audit row, in the caller's transaction).

    imported → validated → reserved ─────────→ released → picking → packed → shipped → delivered → closed
                         ↘ backordered ↗  (hold: on_hold, back to validated on release)   ↘ returned / refunded
    cancelled from anything not yet picked; partially_shipped while units are still owed.

An event with no transition from the current status is refused (`IllegalTransition`, HTTP 409), and
so is a status that changed between the read and the write (another request got there first).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, IllegalTransition, UnknownReference

OrderStatus = Literal[
    "imported", "validated", "on_hold", "reserved", "backordered", "released", "picking", "packed",
    "partially_shipped", "shipped", "delivered", "closed", "cancelled", "returned", "refunded",
]
Event = Literal[
    "validate", "reserve", "backorder", "hold", "release_hold", "release", "pick", "pack", "ship",
    "ship_partial", "deliver", "return", "refund", "close", "cancel", "edit",
]
STATUSES: tuple[OrderStatus, ...] = get_args(OrderStatus)
EVENTS: tuple[Event, ...] = get_args(Event)

TRANSITIONS: dict[tuple[OrderStatus, Event], OrderStatus] = {
    ("imported", "validate"): "validated",
    ("imported", "cancel"): "cancelled",
    ("validated", "reserve"): "reserved",
    ("validated", "backorder"): "backordered",
    ("validated", "cancel"): "cancelled",
    ("reserved", "hold"): "on_hold",
    ("reserved", "release"): "released",
    ("reserved", "cancel"): "cancelled",
    ("reserved", "edit"): "imported",
    ("backordered", "reserve"): "reserved",
    ("backordered", "hold"): "on_hold",
    # Ship what is there: a lead's manual order, or a channel that allows partial shipments.
    ("backordered", "release"): "released",
    ("backordered", "cancel"): "cancelled",
    ("backordered", "edit"): "imported",
    # Releasing a hold sends the order back through allocation (its reservations are kept).
    ("on_hold", "release_hold"): "validated",
    ("on_hold", "cancel"): "cancelled",
    ("on_hold", "edit"): "imported",
    ("released", "hold"): "on_hold",
    ("released", "pick"): "picking",
    ("released", "cancel"): "cancelled",
    ("released", "edit"): "imported",
    ("picking", "pack"): "packed",
    ("picking", "ship"): "shipped",
    ("picking", "ship_partial"): "partially_shipped",
    ("packed", "pick"): "picking",
    ("packed", "ship"): "shipped",
    ("packed", "ship_partial"): "partially_shipped",
    ("partially_shipped", "ship"): "shipped",
    ("partially_shipped", "ship_partial"): "partially_shipped",
    ("shipped", "deliver"): "delivered",
    ("shipped", "return"): "returned",
    ("shipped", "refund"): "refunded",
    ("shipped", "close"): "closed",
    ("delivered", "return"): "returned",
    ("delivered", "refund"): "refunded",
    ("delivered", "close"): "closed",
    ("returned", "refund"): "refunded",
    ("returned", "close"): "closed",
    ("refunded", "close"): "closed",
}

_EVENT_WORDS: dict[Event, str] = {
    "validate": "validated", "reserve": "reserved", "backorder": "backordered", "hold": "put on hold",
    "release_hold": "released from hold", "release": "released to the warehouse", "pick": "picked",
    "pack": "packed", "ship": "shipped", "ship_partial": "shipped in part", "deliver": "delivered",
    "return": "returned", "refund": "refunded", "close": "closed", "cancel": "cancelled", "edit": "changed",
}


def statuses_allowing(event: Event) -> tuple[OrderStatus, ...]:
    """Every status from which `event` is allowed (for queries and screens; the rule stays here)."""
    return tuple(s for s in STATUSES if (s, event) in TRANSITIONS)


# Derived from the table above, never listed by hand elsewhere.
EDITABLE = statuses_allowing("edit")
CANCELLABLE = statuses_allowing("cancel")
HOLDABLE = statuses_allowing("hold")
# Pick lists may take an order's open reservations once it is released and until it has shipped.
PICKABLE: tuple[OrderStatus, ...] = (*statuses_allowing("pick"), "picking", "partially_shipped")
PACKABLE: tuple[OrderStatus, ...] = ("picking", "packed", "partially_shipped")
# Units still owed on these orders are allocated when stock arrives.
AWAITING_STOCK: tuple[OrderStatus, ...] = ("backordered", "on_hold", "released", "picking", "packed",
                                           "partially_shipped")
_FINAL: tuple[OrderStatus, ...] = ("closed", "cancelled")
assert all(s in STATUSES for s in PACKABLE + AWAITING_STOCK)
assert not any(s in _FINAL for (s, _) in TRANSITIONS), "closed and cancelled are final"


def next_status(current: OrderStatus, event: Event, order_ref: str = "") -> OrderStatus:
    """The status `event` leads to from `current`; IllegalTransition when there is none."""
    target = TRANSITIONS.get((current, event))
    if target is None:
        what = f"Order {order_ref}" if order_ref else "This order"
        raise IllegalTransition(f"{what} is {current.replace('_', ' ')}: it cannot be {_EVENT_WORDS[event]}.",
                                status=current, event=event)
    return target


async def current_status(order_id: int) -> tuple[OrderStatus, str]:
    row = await db.fetch_one("SELECT status, order_ref FROM orders WHERE id = {}", order_id)
    if row is None:
        raise UnknownReference(f"No order #{order_id}.")
    return row["status"], row["order_ref"]


async def transition(order_id: int, event: Event, *, actor: Actor, from_status: OrderStatus | None = None,
                     order_ref: str = "", note: str = "", detail: dict[str, Any] | None = None) -> OrderStatus:
    """Move one order along `event`, inside the caller's transaction; returns the new status.

    Callers that just read the status pass it as `from_status` (one statement fewer); the UPDATE is
    guarded on it either way, so a status changed meanwhile is a Conflict, never overwritten.
    """
    assert db.engine().transaction_exists(), "a status change commits with the work that caused it"
    if from_status is None:
        from_status, order_ref = await current_status(order_id)
    to = next_status(from_status, event, order_ref)
    updated = await db.fetch("UPDATE orders SET status = {} WHERE id = {} AND status = {} RETURNING id",
                             to, order_id, from_status)
    if not updated:
        raise Conflict(f"Order {order_ref or f'#{order_id}'} changed while you worked. Reload it and try again.")
    after: dict[str, Any] = {"status": to, **(detail or {})}
    if note:
        after["note"] = note
    await audit.record(actor, f"order.{event}", "order", order_id, {"status": from_status}, after)
    return to


async def transition_many(order_ids: Sequence[int], event: Event, from_status: OrderStatus, *,
                          actor: Actor, detail: dict[str, Any] | None = None) -> list[int]:
    """The same transition for many orders in two statements (waves of thousands of orders); returns
    the ids that moved. Orders no longer in `from_status` are left alone and not returned."""
    assert db.engine().transaction_exists()
    to = next_status(from_status, event)
    if not order_ids:
        return []
    moved: list[int] = []
    before, after = json.dumps({"status": from_status}), json.dumps({"status": to, **(detail or {})}, sort_keys=True)
    now = datetime.now(UTC)
    for chunk in _chunks(list(order_ids)):
        marks = ", ".join("{}" for _ in chunk)
        rows = await db.fetch(f"UPDATE orders SET status = {{}} WHERE status = {{}} AND id IN ({marks}) RETURNING id",
                              to, from_status, *chunk)
        ids = [r["id"] for r in rows]
        moved.extend(ids)
        if ids:
            # The audit rows of audit.record(), one per order, written by one statement.
            await db.fetch(
                "INSERT INTO audit_log (at, actor, device, action, entity, entity_id, before, after)"
                f" SELECT {{}}, {{}}, {{}}, {{}}, 'order', CAST(id AS TEXT), {{}}, {{}} FROM orders"
                f" WHERE id IN ({', '.join('{}' for _ in ids)})",
                now, actor.label, actor.device, f"order.{event}", before, after, *ids,
            )
    return sorted(moved)


_CHUNK_MAX = 5_000  # bound on placeholders per statement (SQLite allows 32,766)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + _CHUNK_MAX] for i in range(0, len(ids), _CHUNK_MAX)]
