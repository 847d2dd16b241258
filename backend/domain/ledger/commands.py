"""Ledger commands. Each `execute()` is one transaction: claim the idempotency key, plan the
movements from current state, apply guarded balance updates, insert movements, store the result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from backend import db
from backend.domain import bounds, idempotency
from backend.domain.catalog.service import ItemView, Sku, get_item, get_item_by_id
from backend.domain.errors import AlreadyReversed, Conflict, InvalidInput, UnknownMovement, UnknownReservation
from backend.domain.idempotency import check_key, payload_hash
from backend.domain.ledger import _groupcommit, _onetrip
from backend.domain.ledger._onetrip import AuditNote as AuditNote  # re-exported: sync replays name ledger.AuditNote
from backend.domain.ledger._onetrip import Prepared as Prepared  # and ledger.Prepared
from backend.domain.ledger._onetrip import legs_json as legs_json  # sync/inbox.py replays moves set-based
from backend.domain.ledger.posting import CommandResult, Delta, Leg, Plan, post
from backend.domain.locations.service import (
    LocationCode,
    LocationView,
    get_location,
    get_location_by_id,
    staging_of,
    virtual,
)
from backend.domain.quantities import require_qty, to_base_units

State = Literal["available", "quarantined", "damaged"]
RESERVE_LINES_MAX = 500
RESERVATION_TTL_MIN_MAX = 60 * 24 * 30
DOC_REF_LENGTH_MAX = 128

DocRef = Annotated[str, msgspec.Meta(max_length=DOC_REF_LENGTH_MAX, pattern=bounds.ONE_LINE)]
# offline_conflict: found stock posted by the offline-sync replay when two scans took the same units
# (backend/domain/scan_exceptions); count_correction: cycle counts. Neither is a reason a person picks by hand.
ADJUST_REASONS = ("count_correction", "found", "lost", "damaged", "expired", "theft", "data_error",
                  "offline_conflict")
# A str checked by _plan_adjust (its message lists the codes); the document lists them as an enum.
AdjustReason = Annotated[str, msgspec.Meta(min_length=1, max_length=bounds.UNIT_LENGTH_MAX, pattern=bounds.ONE_LINE,
                                           extra_json_schema={"extra": {"enum": list(ADJUST_REASONS)}})]
Unit = bounds.OptionalUnit | None  # None or "": the item's base unit


class _Cmd(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    doc_ref: DocRef = ""


class Receive(_Cmd, frozen=True):
    sku: Sku
    qty: bounds.Qty
    to_location: LocationCode
    unit: Unit = None
    lot: bounds.Lot = ""
    expiry: date | None = None
    state: State = "available"


class Move(_Cmd, frozen=True):
    sku: Sku
    qty: bounds.Qty
    from_location: LocationCode
    to_location: LocationCode
    unit: Unit = None
    lot: bounds.Lot = ""


class Adjust(_Cmd, frozen=True):
    sku: Sku
    delta: bounds.SignedQty  # + found, - lost; in `unit`
    location: LocationCode
    reason: AdjustReason
    unit: Unit = None
    lot: bounds.Lot = ""


class _InPlace(_Cmd, frozen=True):
    """Stock that changes state (or leaves) where it lies."""

    sku: Sku
    qty: bounds.Qty
    location: LocationCode
    unit: Unit = None
    lot: bounds.Lot = ""


class Quarantine(_InPlace, frozen=True):
    state: Literal["quarantined", "damaged"] = "quarantined"


class ReleaseQuarantine(_InPlace, frozen=True):
    state: Literal["quarantined", "damaged"] = "quarantined"


class Scrap(_InPlace, frozen=True):
    state: State = "damaged"


class ReserveLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: Sku
    qty: bounds.Qty
    location: LocationCode
    lot: bounds.Lot = ""
    unit: Unit = None


class Reserve(_Cmd, frozen=True):
    lines: Annotated[list[ReserveLine], msgspec.Meta(min_length=1, max_length=RESERVE_LINES_MAX)]
    order_ref: bounds.Reference = ""
    ttl_min: Annotated[int, msgspec.Meta(ge=0, le=RESERVATION_TTL_MIN_MAX)] = 0  # 0 = no expiry


class ReleaseReservation(_Cmd, frozen=True):
    reservation_id: bounds.Id
    qty: bounds.Qty | None = None  # None = everything still open
    reason: Annotated[str, msgspec.Meta(max_length=bounds.UNIT_LENGTH_MAX, pattern=bounds.ONE_LINE)] = "released"


class Pick(_Cmd, frozen=True):
    reservation_id: bounds.Id
    qty: bounds.Qty
    to_location: LocationCode | None = None  # default: the warehouse's staging area


class Ship(_Cmd, frozen=True):
    sku: Sku
    qty: bounds.Qty
    from_location: LocationCode
    unit: Unit = None
    lot: bounds.Lot = ""


class Reverse(_Cmd, frozen=True):
    movement_id: bounds.Id
    reason: bounds.Reason


Command = (Receive | Move | Adjust | Quarantine | ReleaseQuarantine | Scrap | Reserve | ReleaseReservation | Pick | Ship
           | Reverse)


def _check_doc_ref(cmd: _Cmd) -> None:
    if len(cmd.doc_ref) > DOC_REF_LENGTH_MAX:
        raise InvalidInput(f"Document reference is longer than {DOC_REF_LENGTH_MAX} characters.")


def check_stock_item(item: ItemView) -> ItemView:
    if item.is_kit:
        raise InvalidInput(f"{item.sku} is a kit: it has no stock of its own. Use its components.")
    if not item.active:
        raise InvalidInput(f"{item.sku} is inactive and cannot be moved.")
    return item


def check_stock_location(loc: LocationView) -> LocationView:
    if not loc.holds_stock:
        raise InvalidInput(f"{loc.code} is a {loc.kind}, not a place that holds stock. Scan a bin.")
    return loc


async def _stock_item(sku: str) -> ItemView:
    return check_stock_item(await get_item(sku))


async def _stock_location(code: str) -> LocationView:
    return check_stock_location(await get_location(code))


def _lot_for(item: ItemView, lot: str) -> str:
    lot = lot.strip()
    if (item.lot_tracked or item.serial_tracked) and not lot:
        what = "serial number" if item.serial_tracked else "lot"
        raise InvalidInput(f"{item.sku} is tracked by {what}: scan or enter the {what}.")
    if not (item.lot_tracked or item.serial_tracked) and lot:
        raise InvalidInput(f"{item.sku} is not lot tracked; leave the lot empty.")
    return lot


def base_qty_and_lot(item: ItemView, qty: int, unit: str | None, lot: str) -> tuple[int, str]:
    """The quantity in the item's base unit and the lot, checked against how the item is tracked."""
    base = to_base_units(qty, item.factor(unit), unit or item.base_unit)
    lot = _lot_for(item, lot)
    if item.serial_tracked and base != 1:
        raise InvalidInput(f"{item.sku} is serial tracked: one serial number per unit, so quantity must be 1.")
    return base, lot


async def _qty_item_lot(sku: str, qty: int, unit: str | None, lot: str) -> tuple[ItemView, int, str]:
    item = await _stock_item(sku)
    base, lot = base_qty_and_lot(item, qty, unit, lot)
    return item, base, lot


async def _plan_receive(c: Receive) -> Plan:
    item, qty, lot = await _qty_item_lot(c.sku, c.qty, c.unit, c.lot)
    if c.expiry is not None and lot:
        await db.fetch(
            "INSERT INTO lots (item_id, lot, expiry) VALUES ({}, {}, {}) ON CONFLICT (item_id, lot) DO NOTHING",
            item.id, lot, c.expiry,
        )
    leg = Leg(item, lot, qty, await virtual("supplier"), await _stock_location(c.to_location),
              dst_state=c.state, reason="receipt")
    return Plan([leg], doc_ref=c.doc_ref)


async def _plan_move(c: Move) -> Plan:
    item, qty, lot = await _qty_item_lot(c.sku, c.qty, c.unit, c.lot)
    src, dst = await _stock_location(c.from_location), await _stock_location(c.to_location)
    if src.id == dst.id:
        raise InvalidInput(f"From and to are the same location ({src.code}). Scan the destination bin.")
    return Plan([Leg(item, lot, qty, src, dst, reason="move")], doc_ref=c.doc_ref)


def check_adjust(c: Adjust) -> None:
    if c.reason not in ADJUST_REASONS:
        raise InvalidInput(f"An adjustment needs a reason code: one of {', '.join(ADJUST_REASONS)}.")
    if isinstance(c.delta, bool) or c.delta == 0:
        raise InvalidInput("An adjustment must add or remove at least 1 unit.")


def adjust_plan(c: Adjust, item: ItemView, location: LocationView, outside: LocationView) -> Plan:
    """An adjustment's leg, from its item, bin and the ADJUSTMENT location (check_adjust passed)."""
    qty, lot = base_qty_and_lot(check_stock_item(item), abs(c.delta), c.unit, c.lot)
    bin_ = check_stock_location(location)
    src, dst = (outside, bin_) if c.delta > 0 else (bin_, outside)
    return Plan([Leg(item, lot, qty, src, dst, reason=c.reason)], doc_ref=c.doc_ref)


async def _plan_adjust(c: Adjust) -> Plan:
    check_adjust(c)
    item = await _stock_item(c.sku)
    base_qty_and_lot(item, abs(c.delta), c.unit, c.lot)  # its errors come before the bin's
    return adjust_plan(c, item, await get_location(c.location), await virtual("adjustment"))


async def _plan_state_change(c: Quarantine | ReleaseQuarantine) -> Plan:
    item, qty, lot = await _qty_item_lot(c.sku, c.qty, c.unit, c.lot)
    loc = await _stock_location(c.location)
    if isinstance(c, Quarantine):
        leg = Leg(item, lot, qty, loc, loc, "available", c.state, reason=c.state)
    else:
        leg = Leg(item, lot, qty, loc, loc, c.state, "available", reason="release")
    return Plan([leg], doc_ref=c.doc_ref)


async def _plan_scrap(c: Scrap) -> Plan:
    item, qty, lot = await _qty_item_lot(c.sku, c.qty, c.unit, c.lot)
    leg = Leg(item, lot, qty, await _stock_location(c.location), await virtual("scrap"), c.state, c.state, "scrap")
    return Plan([leg], doc_ref=c.doc_ref)


async def _plan_ship(c: Ship) -> Plan:
    item, qty, lot = await _qty_item_lot(c.sku, c.qty, c.unit, c.lot)
    leg = Leg(item, lot, qty, await _stock_location(c.from_location), await virtual("customer"), reason="shipment")
    return Plan([leg], doc_ref=c.doc_ref)


async def _plan_reserve(c: Reserve, key: str) -> Plan:
    if not c.lines or len(c.lines) > RESERVE_LINES_MAX:
        raise InvalidInput(f"A reservation needs 1–{RESERVE_LINES_MAX} lines.")
    if not 0 <= c.ttl_min <= RESERVATION_TTL_MIN_MAX:
        raise InvalidInput(f"Reservation expiry must be 0–{RESERVATION_TTL_MIN_MAX} minutes.")
    now = datetime.now(UTC)
    expires_at = now + timedelta(minutes=c.ttl_min) if c.ttl_min else None
    resolved = []
    for line in c.lines:
        item, qty, lot = await _qty_item_lot(line.sku, line.qty, line.unit, line.lot)
        resolved.append((item, await _stock_location(line.location), lot, qty))
    plan = Plan(doc_ref=c.doc_ref)
    # Lock order: balances are updated sorted by (item, location, lot) in post().
    for item, loc, lot, qty in sorted(resolved, key=lambda r: (r[0].id, r[1].id, r[2])):
        plan.extra.append(Delta(item, loc, lot, reserved=qty))
        row = await db.fetch_one(
            "INSERT INTO reservations (command_key, item_id, location_id, lot, qty, open_qty, status,"
            " order_ref, expires_at, created_at) VALUES ({}, {}, {}, {}, {}, {}, 'open', {}, {}, {}) RETURNING id",
            key, item.id, loc.id, lot, qty, qty, c.order_ref or c.doc_ref, expires_at, now,
        )
        assert row is not None
        plan.reservation_ids.append(row["id"])
    return plan


async def _take_from_reservation(reservation_id: int, qty: int | None, final_status: str) -> tuple[dict[str, Any], int]:
    """Guarded decrement of a reservation's open quantity; returns (row, qty taken)."""
    row = await db.fetch_one(
        "SELECT id, item_id, location_id, lot, open_qty FROM reservations WHERE id = {} AND status = 'open'",
        reservation_id,
    )
    if row is None:
        raise UnknownReservation(reservation_id)
    take = row["open_qty"] if qty is None else require_qty(qty)
    if take > row["open_qty"]:
        raise InvalidInput(f"Reservation #{reservation_id} has only {row['open_qty']} open, not {take}.")
    updated = await db.fetch(
        "UPDATE reservations SET open_qty = open_qty - {},"
        " status = CASE WHEN open_qty - {} = 0 THEN {} ELSE status END"
        " WHERE id = {} AND status = 'open' AND open_qty >= {} RETURNING id",
        take, take, final_status, reservation_id, take,
    )
    if not updated:
        raise Conflict(f"Reservation #{reservation_id} changed while you worked; look it up again.")
    return row, take


async def _plan_release(c: ReleaseReservation) -> Plan:
    final_status = "expired" if c.reason == "expired" else "released"
    row, take = await _take_from_reservation(c.reservation_id, c.qty, final_status)
    item, loc = await get_item_by_id(row["item_id"]), await get_location_by_id(row["location_id"])
    return Plan(extra=[Delta(item, loc, row["lot"], reserved=-take)], reservation_ids=[c.reservation_id],
                doc_ref=c.doc_ref)


async def _plan_pick(c: Pick) -> Plan:
    row, take = await _take_from_reservation(c.reservation_id, c.qty, "consumed")
    item, src = await get_item_by_id(row["item_id"]), await get_location_by_id(row["location_id"])
    if c.to_location:
        dst = await _stock_location(c.to_location)
    elif src.warehouse_id is None:
        raise InvalidInput(f"{src.code} is in no warehouse, so it has no staging area: name where to pick to.")
    else:
        dst = await staging_of(src.warehouse_id)
    if dst.id == src.id:
        raise InvalidInput(f"Reservation #{c.reservation_id} is already in {src.code}: pick it to staging or "
                           "another bin.")
    plan = Plan([Leg(item, row["lot"], take, src, dst, reason="pick")], reservation_ids=[c.reservation_id],
                doc_ref=c.doc_ref)
    plan.extra.append(Delta(item, src, row["lot"], reserved=-take))
    return plan


async def _plan_reverse(c: Reverse) -> Plan:
    if not c.reason.strip():
        raise InvalidInput("Say why the movement is reversed.")
    row = await db.fetch_one("SELECT * FROM movements WHERE id = {}", c.movement_id)
    if row is None:
        raise UnknownMovement(c.movement_id)
    if row["reversal_of"] is not None:
        raise InvalidInput(f"Movement #{c.movement_id} is itself a reversal; post the original again instead.")
    if await db.fetch_one("SELECT id FROM movements WHERE reversal_of = {}", c.movement_id):
        raise AlreadyReversed(f"Movement #{c.movement_id} was already reversed.")
    item = await get_item_by_id(row["item_id"])
    src, dst = await get_location_by_id(row["to_location_id"]), await get_location_by_id(row["from_location_id"])
    leg = Leg(item, row["lot"], row["qty"], src, dst, row["to_state"], row["from_state"],
              reason=f"reversal: {c.reason.strip()}", reversal_of=row["id"])
    return Plan([leg], doc_ref=c.doc_ref or row["doc_ref"])


_PLANNERS: dict[type, Callable[..., Awaitable[Plan]]] = {
    Receive: _plan_receive,
    Move: _plan_move,
    Adjust: _plan_adjust,
    Quarantine: _plan_state_change,
    ReleaseQuarantine: _plan_state_change,
    Scrap: _plan_scrap,
    Ship: _plan_ship,
    ReleaseReservation: _plan_release,
    Pick: _plan_pick,
    Reverse: _plan_reverse,
}


def _validated(command: Command) -> Command:
    """Structs are not checked when built in Python: round-trip them so a wrong type (a string for a
    date, a float for a quantity) or a value out of bounds is refused here instead of deep in the
    database driver."""
    return bounds.checked(command, f"Invalid {kind_of(command)}")


def kind_of(command: Command) -> str:
    return type(command).__name__


def checked_command(command: Command) -> Command:
    """The command as the ledger accepts it, or InvalidInput (types, bounds, document reference)."""
    command = _validated(command)
    _check_doc_ref(command)
    return command


def prepare_posting(command: Command, *, key: str, actor: str,
                    audited: AuditNote | None = None) -> Prepared | None:
    """PostgreSQL: `command` as one statement another statement may embed (sync/inbox.py writes a replayed
    scan's inbox row in the same statement); None when only `execute` can post it. Checked as execute
    checks it; the statement's answer (`Prepared.answer`) is what execute returns or raises, or None."""
    check_key(key)
    command = checked_command(command)
    kind = kind_of(command)
    return _onetrip.prepare(command, key=key, kind=kind, digest=payload_hash(kind, command), actor=actor,
                            audited=audited)


@dataclass(frozen=True, slots=True)
class ReversalHook:
    """What else a movement's reversal changes, outside the ledger (a purchase order's status): `concerns`
    says from the movement's reason and doc_ref whether `run(doc_ref, actor)` has anything to do; it
    then runs in the reversal's own transaction."""

    concerns: Callable[[str, str], bool]
    run: Callable[[str, str], Awaitable[None]]


_AFTER_REVERSAL: list[ReversalHook] = []


def after_reversal(hook: ReversalHook) -> None:
    """Register `hook` for every posted Reverse (and its replays: a hook derives what it changes from the
    ledger, so running twice changes nothing more)."""
    _AFTER_REVERSAL.append(hook)


async def _reversal_hooks(command: Reverse) -> tuple[str, list[ReversalHook]]:
    """The reversed movement's doc_ref and the hooks it concerns (one read; a movement that does not exist
    concerns none, and the reversal says so itself)."""
    rows = await db.fetch("SELECT reason, doc_ref FROM movements WHERE id = {}", command.movement_id)
    if not rows:
        return "", []
    return rows[0]["doc_ref"], [h for h in _AFTER_REVERSAL if h.concerns(rows[0]["reason"], rows[0]["doc_ref"])]


async def execute(command: Command, *, key: str, actor: str, audited: AuditNote | None = None) -> CommandResult:
    """Run one ledger command exactly once per idempotency key, in one transaction (with the
    `after_reversal` hooks a Reverse's movement concerns: then the movement is read first).

    The same key with the same payload returns the first result (nothing posted twice);
    the same key with another payload raises IdempotencyConflict. `audited` (execute_as) adds the
    audit row to the same transaction.

    PostgreSQL posts it in one statement (`_onetrip`), shared with other commands posted meanwhile when
    it is its own transaction (`_groupcommit`); what that statement leaves to Python, and every command
    on SQLite, runs the in-process path below.
    """
    check_key(key)
    command = checked_command(command)
    doc_ref, hooks = await _reversal_hooks(command) if isinstance(command, Reverse) and _AFTER_REVERSAL else ("", [])
    if hooks:
        reverse = command
        assert isinstance(reverse, Reverse)

        async def with_hooks() -> CommandResult:
            result = await _execute(reverse, key=key, actor=actor, audited=audited)
            for hook in hooks:
                await hook.run(doc_ref, actor)
            return result

        return await db.run_in_transaction(with_hooks)
    return await _execute(command, key=key, actor=actor, audited=audited)


async def _execute(command: Command, *, key: str, actor: str, audited: AuditNote | None) -> CommandResult:
    kind = kind_of(command)
    digest = payload_hash(kind, command)
    if db.is_postgres():
        posted = await _groupcommit.post(command, key=key, kind=kind, digest=digest, actor=actor, audited=audited)
        if posted is not None:
            return posted

    async def work() -> CommandResult:
        stored = await idempotency.claim(key, kind, digest, actor)
        if stored is not None:
            return CommandResult.replayed_from(key, kind, stored)
        if isinstance(command, Reserve):
            plan = await _plan_reserve(command, key)
        else:
            plan = await _PLANNERS[type(command)](command)
        result = await post(key, kind, plan, actor)
        if audited is not None:
            await audited.record(command, key, result)
        return result

    return await db.run_in_transaction(work)
