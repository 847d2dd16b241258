"""Manual stock adjustments outside a count: small ones by a lead post at once, the rest wait
for a manager who is not the person asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView, get_item, get_item_by_id
from backend.domain.counts import _tasks
from backend.domain.counts._common import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    clean_note,
    lot_for,
    may_adjust_directly,
    now,
    refuse_own_work,
    require_approver,
)
from backend.domain.counts._corrections import Correction, post_correction
from backend.domain.errors import Conflict, InvalidInput, InvalidQuantity, UnknownReference
from backend.domain.idempotency import derived_key, run_once, stored_as
from backend.domain.ledger.commands import ADJUST_REASONS
from backend.domain.locations.service import LocationView, get_location, get_location_by_id
from backend.domain.quantities import QTY_MAX

# count_correction is what cycle counts post and offline_conflict what the offline replay posts; a
# manual adjustment says what happened instead.
SYSTEM_REASONS = ("count_correction", "offline_conflict")
MANUAL_REASONS = tuple(r for r in ADJUST_REASONS if r not in SYSTEM_REASONS)
_DECIDED_COLUMNS = "id, item_id, location_id, lot, delta, reason, requested_by_user_id"


@dataclass(frozen=True, slots=True)
class AdjustmentOutcome:
    request_id: int
    status: str  # posted | pending_approval | rejected
    movement_ids: list[int] = field(default_factory=list)
    replayed: bool = False


def _check_request(delta: int, reason: str) -> None:
    if reason not in MANUAL_REASONS:
        raise InvalidInput(f"An adjustment needs a reason code: one of {', '.join(MANUAL_REASONS)}. "
                           "Count corrections come from cycle counts.")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidQuantity("An adjustment must add or remove at least 1 unit.")
    if abs(delta) > QTY_MAX:
        raise InvalidQuantity(f"An adjustment of {delta} is too large (at most {QTY_MAX:,}).")


async def _adjustable(sku: str, location: str) -> tuple[ItemView, LocationView]:
    item, loc = await get_item(sku), await get_location(location)
    if item.is_kit or not item.active:
        raise InvalidInput(f"{item.sku} is {'a kit' if item.is_kit else 'inactive'}: it has no stock to adjust.")
    if not loc.holds_stock:
        raise InvalidInput(f"{loc.code} is a {loc.kind}, not a place that holds stock. Scan a bin.")
    return item, loc


async def _refuse_beyond_on_hand(c: Correction) -> None:
    # Asked for at entry, not at approval: a request to remove more than the bin holds could never
    # be approved, and would wait in the manager's queue for nothing.
    if c.delta >= 0:
        return
    row = await db.fetch_one("SELECT on_hand FROM balances WHERE item_id = {} AND location_id = {} AND lot = {}",
                             c.item.id, c.location.id, c.lot)
    on_hand = int(row["on_hand"]) if row else 0
    if -c.delta > on_hand:
        raise InvalidQuantity(f"Only {on_hand} {c.item.sku} on hand in {c.location.code}: an adjustment can "
                              f"remove at most {on_hand}.")


async def _refuse_while_counted(loc: LocationView) -> None:
    # The count posts counted − expected at each item's first scan: a manual correction posted
    # after that scan (for the shortage the counter just found) would be corrected a second time.
    task_id = await _tasks.active_task_for_bin(loc.id)
    if task_id is not None:
        raise Conflict(f"{loc.code} is being counted (count #{task_id}). The count will correct it; "
                       "adjust after the count is finished.")


async def _post(request_id: int, correction: Correction, reason: str, key: str, actor: Actor) -> list[int]:
    await _refuse_while_counted(correction.location)
    lkey = derived_key(key, "adjust")
    ids = await post_correction(correction, reason=reason, doc_ref=f"ADJ-{request_id}", key=lkey, actor=actor)
    await db.fetch("UPDATE adjustment_requests SET ledger_key = {} WHERE id = {}", lkey, request_id)
    return ids


async def _insert_request(key: str, c: Correction, reason: str, direct: bool, actor: Actor) -> int:
    at = now()
    decider = (actor.label, actor.user_id, at) if direct else ("", None, None)
    row = await db.fetch_one(
        "INSERT INTO adjustment_requests (command_key, item_id, location_id, lot, delta, reason, value_cents,"
        " status, requested_by, requested_by_user_id, requested_at, decided_by, decided_by_user_id, decided_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        key, c.item.id, c.location.id, c.lot, c.delta, reason, abs(c.delta) * c.item.unit_cost_cents,
        "posted" if direct else "pending_approval", actor.label, actor.user_id, at, *decider,
    )
    assert row is not None
    return int(row["id"])


async def check_adjustment(sku: str, location: str, delta: int, reason: str, lot: str = "") -> None:
    """What `request_adjustment` refuses, with reads only (the handheld's step is checked before it is sent)."""
    _check_request(delta, reason)
    item, loc = await _adjustable(sku, location)
    await _refuse_beyond_on_hand(Correction(item, loc, lot_for(item, lot), delta))


async def request_adjustment(sku: str, location: str, delta: int, reason: str, key: str, actor: Actor,
                             thresholds: Thresholds = DEFAULT_THRESHOLDS, lot: str = "") -> AdjustmentOutcome:
    """A lead (or manager) posts a small adjustment at once; anything else waits for a manager."""
    _check_request(delta, reason)
    payload = {"sku": sku, "location": location, "delta": delta, "reason": reason, "lot": lot,
               "units": thresholds.units, "value_cents": thresholds.value_cents}

    async def work() -> AdjustmentOutcome:
        item, loc = await _adjustable(sku, location)
        correction = Correction(item, loc, lot_for(item, lot), delta)
        await _refuse_beyond_on_hand(correction)
        direct = may_adjust_directly(actor) and thresholds.allows(delta, item.unit_cost_cents)
        request_id = await _insert_request(key, correction, reason, direct, actor)
        after = {"sku": item.sku, "location": loc.code, "lot": correction.lot, "delta": delta, "reason": reason}
        if not direct:
            await audit.record(actor, "adjustment.requested", "adjustment_request", request_id, None,
                               {**after, "status": "pending_approval"})
            return AdjustmentOutcome(request_id, "pending_approval")
        ids = await _post(request_id, correction, reason, key, actor)
        await audit.record(actor, "adjustment.posted", "adjustment_request", request_id, None,
                           {**after, "status": "posted", "movement_ids": ids})
        return AdjustmentOutcome(request_id, "posted", ids)

    return await run_once("AdjustmentRequest", payload, key=key, actor=actor.label, work=work,
                          replay=stored_as(AdjustmentOutcome))


async def _decide(request_id: int, status: str, actor: Actor, note: str) -> dict[str, Any]:
    row = await db.fetch_one(
        "UPDATE adjustment_requests SET status = {}, decided_by = {}, decided_by_user_id = {}, decided_at = {},"
        " decision_note = {} WHERE id = {} AND status = 'pending_approval' RETURNING " + _DECIDED_COLUMNS,
        status, actor.label, actor.user_id, now(), note, request_id,
    )
    if row is not None:
        return row
    current = await db.fetch_one("SELECT status FROM adjustment_requests WHERE id = {}", request_id)
    if current is None:
        raise UnknownReference(f"No adjustment request #{request_id}.")
    raise Conflict(f"Adjustment request #{request_id} is already {current['status'].replace('_', ' ')}.")


async def approve_adjustment(request_id: int, key: str, actor: Actor) -> AdjustmentOutcome:
    require_approver(actor)

    async def work() -> AdjustmentOutcome:
        row = await _decide(request_id, "posted", actor, "")
        refuse_own_work(actor, {row["requested_by_user_id"]} - {None},
                        "You asked for this adjustment; another manager must approve it.")
        correction = Correction(await get_item_by_id(row["item_id"]), await get_location_by_id(row["location_id"]),
                                row["lot"], int(row["delta"]))
        ids = await _post(request_id, correction, row["reason"], key, actor)
        await audit.record(actor, "adjustment.approved", "adjustment_request", request_id,
                           {"status": "pending_approval"}, {"status": "posted", "movement_ids": ids})
        return AdjustmentOutcome(request_id, "posted", ids)

    return await run_once("AdjustmentApprove", {"request_id": request_id}, key=key, actor=actor.label, work=work,
                          replay=stored_as(AdjustmentOutcome))


async def reject_adjustment(request_id: int, key: str, actor: Actor, note: str) -> AdjustmentOutcome:
    require_approver(actor)
    note = clean_note(note)

    async def work() -> AdjustmentOutcome:
        row = await _decide(request_id, "rejected", actor, note)
        refuse_own_work(actor, {row["requested_by_user_id"]} - {None},
                        "You asked for this adjustment; another manager must decide on it.")
        await audit.record(actor, "adjustment.rejected", "adjustment_request", request_id,
                           {"status": "pending_approval"}, {"status": "rejected", "note": note})
        return AdjustmentOutcome(request_id, "rejected")

    payload = {"request_id": request_id, "note": note}
    return await run_once("AdjustmentReject", payload, key=key, actor=actor.label, work=work,
                          replay=stored_as(AdjustmentOutcome))
