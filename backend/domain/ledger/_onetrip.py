"""A ledger command in one round trip on PostgreSQL: the arguments of `stockline_post(...)`
(backend/migrations/m0012_ledger_one_round_trip.py) for each command, and what its answer means.

The function resolves, checks, claims the key, applies the balance changes in lock order, inserts the
movement (and reservations, and `execute_as`'s audit row) and stores the result, in one statement: no
BEGIN/COMMIT when the command is its own transaction, no savepoint inside a caller's, because a refused
command leaves nothing behind. What it does not post itself it hands back as `fallback` (nothing
written), and commands.execute runs the in-process path of posting.py, the one SQLite runs: unknown
SKUs and bins, lot rules, a key reused with other content all get the same words on both databases.

The function claims the command's key itself, in the same statement, by the rules of
backend/domain/idempotency.py (which owns `command_log`; its docstring says how the two fit): the key
is checked and the payload hashed there before the call, and a replayed answer is read back there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from backend import db, metrics
from backend.domain import idempotency
from backend.domain.auth import audit
from backend.domain.catalog.service import sku_key
from backend.domain.errors import Availability, InsufficientStock
from backend.domain.ledger.posting import CommandResult

# The audit row's `after` is rendered here, with this marker where the movement ids go; the function
# puts them in (json.dumps escapes the NUL characters, so no value a person typed can look like it).
_IDS_MARKER = "\x00movement_ids\x00"
_IDS_MARKER_JSON = json.dumps(_IDS_MARKER)
_VIRTUAL = {"supplier": "supplier", "customer": "customer", "adjustment": "adjustment", "scrap": "scrap"}



@dataclass(frozen=True, slots=True)
class AuditNote:
    """`execute_as`: the audit row that commits with the command (who, on which device, extra fields)."""

    actor: audit.Actor
    note: dict[str, Any] | None = None

    def after(self, command: msgspec.Struct, movement_ids: Any) -> dict[str, Any]:
        return {**msgspec.to_builtins(command), "movement_ids": movement_ids, **(self.note or {})}

    async def record(self, command: msgspec.Struct, key: str, result: CommandResult) -> None:
        """The in-process path's audit row, in the command's transaction."""
        await audit.record(self.actor, f"ledger.{type(command).__name__.lower()}", "command", key,
                           after=self.after(command, result.movement_ids))


def _loc(code: str) -> str:
    return code.strip().casefold()


@dataclass(slots=True)
class _Args:
    """stockline_post's arguments after the common ones, with the defaults of a command that has no use for them."""

    mode: str = "legs"
    sku: list[str] | None = None
    unit: list[str] | None = None
    lot: list[str] | None = None
    qty: list[int] | None = None
    src: list[str] | None = None
    dst: list[str] | None = None
    src_stock: list[bool] | None = None
    dst_stock: list[bool] | None = None
    src_state: list[str] | None = None
    dst_state: list[str] | None = None
    reason: list[str] | None = None
    distinct: bool = False
    expiry: Any = None
    order_ref: str = ""
    expires_at: datetime | None = None
    reservation_id: int | None = None
    take: int | None = None
    final_status: str = ""
    pick: bool = False
    to: str = ""
    movement_id: int | None = None
    reverse_reason: str = ""

    def values(self) -> list[Any]:
        return [self.mode, self.sku, self.unit, self.lot, self.qty, self.src, self.dst, self.src_stock,
                self.dst_stock, self.src_state, self.dst_state, self.reason, self.distinct, self.expiry,
                self.order_ref, self.expires_at, self.reservation_id, self.take, self.final_status, self.pick,
                self.to, self.movement_id, self.reverse_reason]


def _leg(sku: str, unit: str | None, lot: str, qty: int, src: str, dst: str, *, src_stock: bool, dst_stock: bool,
         src_state: str = "available", dst_state: str = "available", reason: str, distinct: bool = False,
         expiry: Any = None) -> _Args:
    return _Args("legs", [sku_key(sku)], [unit or ""], [lot.strip()], [qty], [src], [dst], [src_stock], [dst_stock],
                 [src_state], [dst_state], [reason], distinct, expiry)


def _args_for(command: msgspec.Struct, now: datetime) -> _Args | None:
    """The function's arguments for `command`, or None for what only the in-process path answers."""
    from backend.domain.ledger import commands as c  # commands imports this module

    match command:
        case c.Receive():
            return _leg(command.sku, command.unit, command.lot, command.qty, _VIRTUAL["supplier"],
                        _loc(command.to_location), src_stock=False, dst_stock=True, dst_state=command.state,
                        reason="receipt", expiry=command.expiry)
        case c.Move():
            return _leg(command.sku, command.unit, command.lot, command.qty, _loc(command.from_location),
                        _loc(command.to_location), src_stock=True, dst_stock=True, reason="move", distinct=True)
        case c.Adjust():
            if command.reason not in c.ADJUST_REASONS or isinstance(command.delta, bool) or command.delta == 0:
                return None
            bin_, outside = _loc(command.location), _VIRTUAL["adjustment"]
            src, dst = (outside, bin_) if command.delta > 0 else (bin_, outside)
            return _leg(command.sku, command.unit, command.lot, abs(command.delta), src, dst,
                        src_stock=command.delta < 0, dst_stock=command.delta > 0, reason=command.reason)
        case c.Quarantine():
            return _leg(command.sku, command.unit, command.lot, command.qty, _loc(command.location),
                        _loc(command.location), src_stock=True, dst_stock=True, dst_state=command.state,
                        reason=command.state)
        case c.ReleaseQuarantine():
            return _leg(command.sku, command.unit, command.lot, command.qty, _loc(command.location),
                        _loc(command.location), src_stock=True, dst_stock=True, src_state=command.state,
                        reason="release")
        case c.Scrap():
            return _leg(command.sku, command.unit, command.lot, command.qty, _loc(command.location),
                        _VIRTUAL["scrap"], src_stock=True, dst_stock=False, src_state=command.state,
                        dst_state=command.state, reason="scrap")
        case c.Ship():
            return _leg(command.sku, command.unit, command.lot, command.qty, _loc(command.from_location),
                        _VIRTUAL["customer"], src_stock=True, dst_stock=False, reason="shipment")
        case c.Reserve():
            if not command.lines or len(command.lines) > c.RESERVE_LINES_MAX:
                return None
            if not 0 <= command.ttl_min <= c.RESERVATION_TTL_MIN_MAX:
                return None
            lines = command.lines
            return _Args("reserve", [sku_key(li.sku) for li in lines], [li.unit or "" for li in lines],
                         [li.lot.strip() for li in lines], [li.qty for li in lines],
                         [_loc(li.location) for li in lines],
                         src_stock=[True] * len(lines), order_ref=command.order_ref or command.doc_ref,
                         expires_at=now + timedelta(minutes=command.ttl_min) if command.ttl_min else None)
        case c.ReleaseReservation():
            return _Args("take", reservation_id=command.reservation_id, take=command.qty,
                         final_status="expired" if command.reason == "expired" else "released")
        case c.Pick():
            return _Args("take", reservation_id=command.reservation_id, take=command.qty, final_status="consumed",
                         pick=True, to=_loc(command.to_location) if command.to_location else "")
        case c.Reverse():
            reason = command.reason.strip()
            if not reason:
                return None
            return _Args("reverse", movement_id=command.movement_id, reverse_reason=f"reversal: {reason}")
    return None


POST_ARGS = 33
# Places in Prepared.args (prepare below) that others read: the mode, and the legs' SKU keys, lots and bins.
ARG_MODE, ARG_SKU, ARG_LOT, ARG_SRC, ARG_DST = 6, 7, 9, 11, 12
POST_SQL = "SELECT * FROM stockline_post(" + ", ".join(f"${n}" for n in range(1, POST_ARGS + 1)) + ")"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A command ready to post as one `stockline_post(...)` call: its arguments, and the statement that
    calls it with its placeholders starting at any number (so another statement can embed the call)."""

    key: str
    kind: str
    args: list[Any]

    def call(self, first: int = 1) -> str:
        return "SELECT * FROM stockline_post(" + ", ".join(f"${n}" for n in range(first, first + POST_ARGS)) + ")"

    def answer(self, row: Any) -> CommandResult | None:
        return answer(row, self.key, self.kind)

    @property
    def one_leg(self) -> bool:
        """A command of one leg (receive, move, adjust, quarantine, release, scrap, ship): what
        stockline_post_legs (m0019) posts set-based with others."""
        return self.args[ARG_MODE] == "legs" and len(self.args[ARG_SKU]) == 1


# A one-leg command as one member of stockline_post_legs (m0019): its stockline_post arguments at these
# places, the leg's arrays by their one element.
LEGS_MEMBER_FIELDS = (0, 1, 2, 3, 4, 5, (7,), (8,), (9,), (10,), (11,), (12,), (13,), (14,), (15,), (16,), (17,), 18,
                      19, 29, 30, 31, 32)


def legs_json(postings: Sequence[Prepared]) -> str:
    """One-leg commands as stockline_post_legs reads them: a JSON array of their fields each (dates as ISO
    text), in the order they are to post."""
    rows = []
    for p in postings:
        assert p.one_leg, p.kind
        a = p.args
        row = [a[f[0]][0] if isinstance(f, tuple) else a[f] for f in LEGS_MEMBER_FIELDS]
        row[4] = row[4].isoformat()
        if row[18] is not None:
            row[18] = row[18].isoformat()
        rows.append(row)
    return json.dumps(rows, separators=(",", ":"))


def prepare(command: msgspec.Struct, *, key: str, kind: str, digest: str, actor: str,
            audited: AuditNote | None) -> Prepared | None:
    """The call for `command` (already checked), or None for what only the in-process path posts."""
    now = datetime.now(UTC)
    args = _args_for(command, now)
    if args is None:
        return None
    audit_args: list[Any] = [None, None, None, None]
    if audited is not None:
        after = audit._text(audited.after(command, _IDS_MARKER))
        audit_args = [audited.actor.device, f"ledger.{kind.lower()}", after, _IDS_MARKER_JSON]
    values = [key, kind, digest, actor, now, getattr(command, "doc_ref", ""), *args.values(), *audit_args]
    assert len(values) == POST_ARGS
    return Prepared(key, kind, values)


def answer(row: Any, key: str, kind: str) -> CommandResult | None:
    """What stockline_post's row means: a result, InsufficientStock raised, or None (in-process path)."""
    status = row["status"]
    if status == "posted":
        movement_ids = list(row["movement_ids"])
        if movement_ids:
            db.after_commit(lambda: metrics.ledger_posted(kind, len(movement_ids)))
        return CommandResult(key, kind, movement_ids, list(row["reservation_ids"]))
    if status == "replayed":
        return CommandResult.replayed_from(key, kind, idempotency.decode_answer(row["stored"]))
    if status == "insufficient":
        elsewhere = [Availability(code, int(qty)) for code, qty in
                     zip(row["elsewhere_codes"], row["elsewhere_available"], strict=True)]
        raise InsufficientStock(row["short_sku"], row["short_where"], int(row["short_requested"]),
                                int(row["short_have"]), elsewhere)
    assert status == "fallback", status
    return None
