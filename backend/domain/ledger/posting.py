"""The core of the ledger: guarded balance updates and movement inserts, under a claimed key.

Every command claims its idempotency key (backend/domain/idempotency.py) and runs `post()` inside
one transaction. Balance rows are touched in a fixed order (item_id, location_id, lot) so two
commands that touch the same rows in different orders queue behind each other instead of deadlocking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend import db, metrics
from backend.domain import idempotency
from backend.domain.catalog.service import ItemView
from backend.domain.errors import Availability, InsufficientStock
from backend.domain.locations.service import LocationView

ELSEWHERE_MAX = 5
STATES = ("available", "quarantined", "damaged")


@dataclass(frozen=True, slots=True)
class Leg:
    """One movement: qty of an item (and lot) from one location/state to another."""

    item: ItemView
    lot: str
    qty: int
    src: LocationView
    dst: LocationView
    src_state: str = "available"
    dst_state: str = "available"
    reason: str = ""
    reversal_of: int | None = None


@dataclass(slots=True)
class Delta:
    item: ItemView
    location: LocationView
    lot: str
    on_hand: int = 0
    reserved: int = 0
    quarantined: int = 0
    damaged: int = 0

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.item.id, self.location.id, self.lot)

    @property
    def only_adds(self) -> bool:
        """True when the update cannot break any balance invariant (no guard needed)."""
        parts = (self.on_hand, self.reserved, self.quarantined, self.damaged)
        free = self.on_hand - self.reserved - self.quarantined - self.damaged
        return min(parts) >= 0 and free >= 0


@dataclass(slots=True)
class Plan:
    legs: list[Leg] = field(default_factory=list)
    extra: list[Delta] = field(default_factory=list)  # reservation changes: reserved +/- only
    reservation_ids: list[int] = field(default_factory=list)
    doc_ref: str = ""


@dataclass(frozen=True, slots=True)
class CommandResult:
    key: str
    kind: str
    movement_ids: list[int]
    reservation_ids: list[int]
    replayed: bool = False

    def to_json(self) -> str:
        return idempotency.encode_answer(self.movement_ids, self.reservation_ids)

    @classmethod
    def replayed_from(cls, key: str, kind: str, answer: idempotency.Answer) -> CommandResult:
        return cls(key, kind, list(answer.movement_ids), list(answer.reservation_ids), replayed=True)


def _deltas(plan: Plan) -> list[Delta]:
    """Net balance change per (item, location, lot), in lock order."""
    merged: dict[tuple[int, int, str], Delta] = {}

    def delta(item: ItemView, loc: LocationView, lot: str) -> Delta:
        return merged.setdefault((item.id, loc.id, lot), Delta(item, loc, lot))

    for leg in plan.legs:
        for loc, sign, state in ((leg.src, -1, leg.src_state), (leg.dst, +1, leg.dst_state)):
            if not loc.holds_stock:
                continue
            d = delta(leg.item, loc, leg.lot)
            d.on_hand += sign * leg.qty
            if state == "quarantined":
                d.quarantined += sign * leg.qty
            elif state == "damaged":
                d.damaged += sign * leg.qty
    for extra in plan.extra:
        delta(extra.item, extra.location, extra.lot).reserved += extra.reserved
    changed = (d for d in merged.values() if any((d.on_hand, d.reserved, d.quarantined, d.damaged)))
    return sorted(changed, key=lambda d: d.sort_key)


async def _availability_elsewhere(item_id: int, exclude_location_id: int) -> list[Availability]:
    rows = await db.fetch(
        "SELECT l.code, b.on_hand - b.reserved - b.quarantined - b.damaged AS available"
        " FROM balances b JOIN locations l ON l.id = b.location_id"
        " WHERE b.item_id = {} AND b.location_id <> {} AND l.kind = 'bin'"
        " AND b.on_hand - b.reserved - b.quarantined - b.damaged > 0"
        " ORDER BY available DESC, l.code LIMIT {}",
        item_id,
        exclude_location_id,
        ELSEWHERE_MAX,
    )
    return [Availability(r["code"], r["available"]) for r in rows]


async def _insufficient(d: Delta) -> InsufficientStock:
    row = await db.fetch_one(
        "SELECT on_hand, reserved, quarantined, damaged FROM balances"
        " WHERE item_id = {} AND location_id = {} AND lot = {}",
        d.item.id,
        d.location.id,
        d.lot,
    )
    row = row or {"on_hand": 0, "reserved": 0, "quarantined": 0, "damaged": 0}
    if d.quarantined < 0:
        requested, have = -d.quarantined, row["quarantined"]
    elif d.damaged < 0:
        requested, have = -d.damaged, row["damaged"]
    elif d.reserved < 0:
        requested, have = -d.reserved, row["reserved"]
    else:
        requested = -(d.on_hand - d.reserved - d.quarantined - d.damaged)
        have = row["on_hand"] - row["reserved"] - row["quarantined"] - row["damaged"]
    where = d.location.code + (f" (lot {d.lot})" if d.lot else "")
    elsewhere = await _availability_elsewhere(d.item.id, d.location.id)
    return InsufficientStock(d.item.sku, where, requested, have, elsewhere)


async def _undo(d: Delta) -> None:
    await db.fetch(
        "UPDATE balances SET on_hand = on_hand - {}, reserved = reserved - {}, quarantined = quarantined - {},"
        " damaged = damaged - {} WHERE item_id = {} AND location_id = {} AND lot = {}",
        d.on_hand, d.reserved, d.quarantined, d.damaged, d.item.id, d.location.id, d.lot,
    )


async def _apply_all(deltas: list[Delta]) -> None:
    """Apply the deltas in lock order; when one is refused, take back the ones before it (the caller's
    rollback would, but only after the error is worded) so "available elsewhere" does not count units
    this command was about to bring there, then raise InsufficientStock."""
    for n, d in enumerate(deltas):
        if not await _apply(d):
            for done in reversed(deltas[:n]):
                await _undo(done)
            raise await _insufficient(d)


async def _apply(d: Delta) -> bool:
    if d.only_adds:
        await db.fetch(
            "INSERT INTO balances (item_id, location_id, lot, on_hand, reserved, quarantined, damaged)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (item_id, location_id, lot) DO UPDATE SET"
            " on_hand = balances.on_hand + excluded.on_hand, reserved = balances.reserved + excluded.reserved,"
            " quarantined = balances.quarantined + excluded.quarantined,"
            " damaged = balances.damaged + excluded.damaged",
            d.item.id, d.location.id, d.lot, d.on_hand, d.reserved, d.quarantined, d.damaged,
        )
        return True
    # Guarded conditional update: the database checks and changes the row in one statement,
    # so two concurrent pickers can never both take the last unit.
    updated = await db.fetch(
        "UPDATE balances SET on_hand = on_hand + {}, reserved = reserved + {},"
        " quarantined = quarantined + {}, damaged = damaged + {}"
        " WHERE item_id = {} AND location_id = {} AND lot = {}"
        " AND on_hand + {} >= 0 AND reserved + {} >= 0 AND quarantined + {} >= 0 AND damaged + {} >= 0"
        " AND (on_hand + {}) - (reserved + {}) - (quarantined + {}) - (damaged + {}) >= 0"
        " RETURNING id",
        d.on_hand, d.reserved, d.quarantined, d.damaged,
        d.item.id, d.location.id, d.lot,
        d.on_hand, d.reserved, d.quarantined, d.damaged,
        d.on_hand, d.reserved, d.quarantined, d.damaged,
    )
    return bool(updated)


async def _insert_movement(key: str, index: int, leg: Leg, actor: str, doc_ref: str, now: datetime) -> int:
    row = await db.fetch_one(
        "INSERT INTO movements (idempotency_key, command_key, item_id, lot, qty, from_location_id,"
        " to_location_id, from_state, to_state, reason, actor, doc_ref, reversal_of, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        f"{key}#{index}", key, leg.item.id, leg.lot, leg.qty, leg.src.id, leg.dst.id,
        leg.src_state, leg.dst_state, leg.reason, actor, doc_ref, leg.reversal_of, now,
    )
    assert row is not None
    return int(row["id"])


async def post(key: str, kind: str, plan: Plan, actor: str) -> CommandResult:
    """Apply a plan inside the caller's transaction and record its result under `key`, which the caller
    claimed in this transaction (`idempotency.claim`)."""
    for leg in plan.legs:
        assert leg.qty > 0 and leg.src_state in STATES and leg.dst_state in STATES, leg
    await _apply_all(_deltas(plan))
    now = datetime.now(UTC)
    movement_ids = [await _insert_movement(key, i, leg, actor, plan.doc_ref, now) for i, leg in enumerate(plan.legs)]
    result = CommandResult(key, kind, movement_ids, plan.reservation_ids)
    # One answer per claimed key: a second post() under the same key (a bug) fails here and rolls back
    # its movements. This, with command_log's primary key, is what keeps movement keys unique.
    await idempotency.record_answer(key, result.to_json())
    if movement_ids:
        db.after_commit(lambda: metrics.ledger_posted(kind, len(movement_ids)))
    return result
