"""Applying one validated scan: the step's interpreter (backend/domain/scans) turns what the worker did
into its domain command, the same one the online screens' check validated.

Each kind runs as the person who scanned (`user:{code}` on the scanning device) with ledger keys
derived from the txn_id (`sync:{txn_id}`), so even if the inbox row were lost a replay would be
answered from the command log instead of posting twice.

What a failure means for a scan that already happened on the floor:
* the scan does not describe a valid action (unknown SKU or bin, wrong bin for the pick line, lot
  missing...) or its user may not do it → `rejected`, with the domain's own message;
* stock the ledger no longer has where the scan took it → found stock, `needs_review`
  (backend/domain/scan_exceptions);
* any other state conflict (line already picked, count already submitted, bin being counted) →
  `needs_review` with a manager exception and nothing posted: a person decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from backend import db
from backend.domain import counts
from backend.domain.auth import devices, users
from backend.domain.auth.audit import Actor
from backend.domain.auth.permissions import allows
from backend.domain.errors import Conflict, InvalidInput, NotPermitted, UnknownReference
from backend.domain.fulfillment import service as fulfillment
from backend.domain.fulfillment.queries import get_pick_line
from backend.domain.idempotency import scoped_key
from backend.domain.ledger import commands as ledger
from backend.domain.ledger.audited import execute_as
from backend.domain.receiving.receipts import post_receipt
from backend.domain.scan_exceptions import Compensation, ScanContext, Spot, open_exception, with_found_stock
from backend.domain.scans import (
    Adjust,
    Count,
    FinishCount,
    LegacyAdjust,
    LegacyMove,
    LegacyReceive,
    Move,
    Pick,
    Receive,
    adjustment_of,
    move_of,
    receipt_of,
)
from sync.envelopes import Payload, Scan

PERMISSION_OF_KIND = {"receive": "receive", "move": "move", "pick": "pick", "count": "count",
                      "count_finish": "count", "adjust": "adjust"}
_ROLE_WORDS = {"receive": "receive stock", "move": "move stock", "pick": "pick", "count": "count",
               "count_finish": "count", "adjust": "adjust stock"}


@dataclass(frozen=True, slots=True)
class Review:
    """The manager exception a needs_review outcome opens, once the envelope's inbox row is written
    (sync_exceptions names its txn_id)."""

    ctx: ScanContext
    reason: str
    location: str = ""
    sku: str = ""
    compensation: Compensation | None = None

    async def open(self) -> int:
        return await open_exception(self.ctx, reason=self.reason, location=self.location, sku=self.sku,
                                    compensation=self.compensation)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["applied", "needs_review", "rejected"]
    reason: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    review: Review | None = None


class ScanRefused(Exception):
    """The scan's command refused it: whatever it wrote rolls back with the envelope's transaction
    (no savepoint around it), and the outcome is recorded in a transaction of its own."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


def ledger_key(txn_id: str) -> str:
    return scoped_key("sync", txn_id)


UsersSeen = dict[int, users.UserView | None]


async def apply_scan(scan: Scan, thresholds: counts.Thresholds, users_seen: UsersSeen | None = None,
                     relay_id: int | None = None) -> Outcome:
    """Authorize and apply one scan inside the caller's (the envelope's) transaction; a scan its command
    refuses raises ScanRefused with its outcome (the caller rolls back and records it).

    `users_seen` carries the scanning users already read (and vouched for) in this batch (a batch is
    one device's scans, nearly always one person's), so each is read once per batch, not per scan.
    `relay_id` is who is signed in on the device now: a scan by someone else is accepted only if
    that person once signed in online on this same server-issued device (their offline sign-in is
    checked on the device against what that sign-in left there), so a device cannot post scans under
    any user id it likes. The batch's device is the session's (replay.apply_batch)."""
    assert db.engine().transaction_exists(), "a scan is applied in its envelope's transaction"
    env = scan.envelope
    user = await _scanning_user(scan, users_seen, relay_id)
    if user is None or not user.active:
        return Outcome("rejected", f"User #{env.user_id} has not signed in on this scanner or is not active. "
                                   "Sign in online on this scanner and redo the scan.")
    if not allows(user.role, PERMISSION_OF_KIND[env.kind]):
        return Outcome("rejected", f"{user.name} ({user.role}) may not {_ROLE_WORDS[env.kind]}. Ask a lead.")
    ctx = ScanContext(env.txn_id, env.device_id, env.kind, ledger_key(env.txn_id),
                      Actor(f"user:{user.code}", env.device_id, user.id, user.role))
    handler = _HANDLERS[env.kind]
    try:
        # No savepoint: a scan that fails halfway (good units received, damaged refused) is rolled back
        # whole with the envelope's transaction (ScanRefused), and its outcome recorded in a new one.
        return await handler(scan.payload, ctx, thresholds)
    except (InvalidInput, UnknownReference, NotPermitted) as exc:
        raise ScanRefused(Outcome("rejected", exc.message)) from exc
    except Conflict as exc:
        location, sku = _where(scan.payload)
        raise ScanRefused(Outcome("needs_review", f"Kept for a manager to check: {exc.message}",
                                  review=Review(ctx, exc.message, location, sku))) from exc


async def _scanning_user(scan: Scan, users_seen: UsersSeen | None, relay_id: int | None) -> users.UserView | None:
    """The scan's user if this device may relay their scans (see apply_scan), read once per batch."""
    env = scan.envelope
    seen = users_seen if users_seen is not None else {}
    if env.user_id not in seen:
        vouched = env.user_id == relay_id or await devices.signed_in_on_device(env.user_id, env.device_id)
        seen[env.user_id] = await users.get_user(env.user_id) if vouched else None
    return seen[env.user_id]


async def move_in_one_statement(scan: Scan, users_seen: UsersSeen,
                                relay_id: int | None) -> ledger.Prepared | None:
    """PostgreSQL: a move scan its user may make, as the one ledger statement (with its audit row) of the
    command `_move` would post, for the inbox to write beside it (inbox.record_moves). None:
    apply_scan's path (another kind, a refusal, found stock), which gives the same answers."""
    env, p = scan.envelope, scan.payload
    if env.kind != "move" or not isinstance(p, Move | LegacyMove):
        return None
    user = await _scanning_user(scan, users_seen, relay_id)
    if user is None or not user.active or not allows(user.role, PERMISSION_OF_KIND["move"]):
        return None
    actor = Actor(f"user:{user.code}", env.device_id, user.id, user.role)
    try:
        command = (await move_of(p)).move
        posting = ledger.prepare_posting(command, key=ledger_key(env.txn_id), actor=actor.label,
                                         audited=ledger.AuditNote(actor))
    except (InvalidInput, UnknownReference):
        return None
    return posting


def _where(p: Payload) -> tuple[str, str]:
    """(location, item) a manager looks at for this scan."""
    match p:
        case Receive():
            return p.to_bin, _first_code(p.items)
        case LegacyReceive():
            return p.to_location, p.sku
        case Move():
            return p.from_bin, _first_code(p.items)
        case LegacyMove():
            return p.from_location, p.sku
        case Pick():
            return p.bin, p.item_code
        case Adjust():
            return p.bin, p.item_code
        case LegacyAdjust():
            return p.location, p.sku
        case Count():
            return "", p.item_code
        case FinishCount():
            return "", ""


def _first_code(items: list[str | int]) -> str:
    return next((e for e in items if isinstance(e, str)), "")


def _with_review(ctx: ScanContext, result: dict[str, Any], found: Compensation | None) -> Outcome:
    if found is None:
        return Outcome("applied", "", result)
    return Outcome("needs_review", found.reason(), {
        **result, "shortfall": found.shortfall, "adjustment_movement_ids": found.movement_ids,
        "count_task_id": found.count_task_id,
    }, Review(ctx, found.reason(), compensation=found))


async def _receive(p: Payload, ctx: ScanContext, _: counts.Thresholds) -> Outcome:
    assert isinstance(p, Receive | LegacyReceive)
    plan = await receipt_of(p)
    done = await post_receipt(plan.receipt, key=ctx.key, actor=ctx.actor)
    return Outcome("applied", "", {"movement_ids": done.movement_ids})


async def _move(p: Payload, ctx: ScanContext, _: counts.Thresholds) -> Outcome:
    assert isinstance(p, Move | LegacyMove)
    command = (await move_of(p)).move

    async def where() -> Spot:
        return Spot(command.sku, command.from_location, command.lot)

    done, found = await with_found_stock(lambda: execute_as(command, key=ctx.key, actor=ctx.actor), where, ctx)
    return _with_review(ctx, {"movement_ids": list(done.movement_ids)}, found)


async def _pick(p: Payload, ctx: ScanContext, _: counts.Thresholds) -> Outcome:
    assert isinstance(p, Pick)

    def attempt() -> Awaitable[fulfillment.PickLineView]:
        return fulfillment.confirm_pick(p.pick_list_id, p.line_id, p.bin, p.item_code, p.qty, key=ctx.key,
                                        actor=ctx.actor)

    async def where() -> Spot:
        line = await get_pick_line(p.pick_list_id, p.line_id)
        return Spot(line.sku, line.bin, line.lot)

    line, found = await with_found_stock(attempt, where, ctx)
    return _with_review(ctx, {"pick_line_id": line.id, "line_status": line.status}, found)


async def _count(p: Payload, ctx: ScanContext, _: counts.Thresholds) -> Outcome:
    assert isinstance(p, Count)
    recorded = await counts.record_count(p.task_id, p.item_code, p.qty, ctx.key, ctx.actor, lot=p.lot, mode=p.mode)
    return Outcome("applied", "", {"task_id": recorded.task_id})  # blind: never an expected quantity


async def _count_finish(p: Payload, ctx: ScanContext, thresholds: counts.Thresholds) -> Outcome:
    assert isinstance(p, FinishCount)
    outcome = await counts.submit_count(p.task_id, ctx.key, ctx.actor, thresholds)
    waiting = "Count sent to a manager for approval." if outcome.status == "pending_approval" else ""
    return Outcome("applied", waiting, {"task_id": outcome.task_id, "count_status": outcome.status,
                                        "movement_ids": list(outcome.movement_ids)})


async def _adjust(p: Payload, ctx: ScanContext, thresholds: counts.Thresholds) -> Outcome:
    assert isinstance(p, Adjust | LegacyAdjust)
    a = await adjustment_of(p)
    outcome = await counts.request_adjustment(a.sku, a.location, a.delta, a.reason, ctx.key, ctx.actor, thresholds,
                                              lot=a.lot)
    waiting = "" if outcome.status == "posted" else "Sent to a manager for approval."
    return Outcome("applied", waiting, {"request_id": outcome.request_id, "request_status": outcome.status,
                                        "movement_ids": list(outcome.movement_ids)})


_HANDLERS: dict[str, Callable[[Payload, ScanContext, counts.Thresholds], Awaitable[Outcome]]] = {
    "receive": _receive, "move": _move, "pick": _pick, "count": _count, "count_finish": _count_finish,
    "adjust": _adjust,
}
