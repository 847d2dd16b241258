"""Manager decisions on counts, and the approvals queue for the manager's tablet.

Managers may see expected quantities; the counter's screen never calls anything here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item_by_id
from backend.domain.counts import _tasks
from backend.domain.counts._common import clean_note, now, refuse_own_work, require_approver
from backend.domain.counts._settle import WAITING_STATUSES, settle_task
from backend.domain.counts.service import CountOutcome
from backend.domain.idempotency import derived_key, run_once, stored_as
from backend.domain.locations.service import get_location_by_id

APPROVALS_QUEUE_MAX = 200
_DECISION = "decided_by = {}, decided_by_user_id = {}, decided_at = {}"


async def approve_count(task_id: int, key: str, actor: Actor) -> CountOutcome:
    """Post the waiting lines (counted − expected at the item's first scan, against the current balance)."""
    require_approver(actor)

    async def work() -> CountOutcome:
        task = await _tasks.transition(task_id, "pending_approval", _DECISION, actor.label, actor.user_id, now())
        refuse_own_work(actor, await _tasks.counter_ids(task), "You counted this bin; another manager must approve it.")
        settled = await settle_task(task_id, task["bin_id"], WAITING_STATUSES, None, key, actor)
        # A line that still cannot be posted (stock moved meanwhile) stays for review.
        status = "pending_approval" if settled.waiting else "completed"
        await _tasks.set_status(task_id, status)
        await audit.record(actor, "count.approved", "count_task", task_id, {"status": "pending_approval"},
                           {"status": status, "movement_ids": settled.movement_ids})
        return CountOutcome(task_id, status, settled.movement_ids)

    return await run_once("CountApprove", {"task_id": task_id}, key=key, actor=actor.label, work=work,
                          replay=stored_as(CountOutcome))


async def _create_recount(task: dict[str, Any], key: str, actor: Actor) -> int:
    """The recount task, a CountCreate of its own under a key derived from the reject's (so a replay of
    the reject finds it claimed)."""
    bin_ = await get_location_by_id(task["bin_id"])
    item = await get_item_by_id(task["item_id"]) if task["item_id"] else None
    recount_key = derived_key(key, "recount")

    async def create() -> CountOutcome:
        recount_id = await _tasks.insert_task(bin_, item, "recount", recount_key, actor, recount_of=task["id"])
        await audit.record(actor, "count.created", "count_task", recount_id, None,
                           {"bin": bin_.code, "item": item.sku if item else None, "reason": "recount",
                            "recount_of": task["id"]})
        return CountOutcome(recount_id, "open")

    created = await run_once("CountCreate", {"recount_of": task["id"]}, key=recount_key, actor=actor.label,
                             work=create, replay=stored_as(CountOutcome))
    assert not created.replayed, "the reject's own key was fresh, so its derived key is too"
    return created.task_id


async def reject_count(task_id: int, key: str, actor: Actor, note: str, recount: bool = True) -> CountOutcome:
    """Post nothing for the waiting lines; by default ask for a recount of the same bin (and item)."""
    require_approver(actor)
    note = clean_note(note)

    async def work() -> CountOutcome:
        task = await _tasks.transition(task_id, "pending_approval",
                                       "status = 'rejected', decision_note = {}, " + _DECISION,
                                       note, actor.label, actor.user_id, now())
        refuse_own_work(actor, await _tasks.counter_ids(task), "You counted this bin; another manager must decide.")
        await db.fetch(
            "UPDATE count_lines SET status = 'rejected' WHERE task_id = {}"
            " AND status IN ('pending_approval', 'needs_review')",
            task_id,
        )
        recount_id = await _create_recount(task, key, actor) if recount else None
        await audit.record(actor, "count.rejected", "count_task", task_id, {"status": "pending_approval"},
                           {"status": "rejected", "note": note, "recount_task_id": recount_id})
        return CountOutcome(task_id, "rejected", [], recount_id)

    payload = {"task_id": task_id, "note": note, "recount": recount}
    return await run_once("CountReject", payload, key=key, actor=actor.label, work=work,
                          replay=stored_as(CountOutcome))


@dataclass(frozen=True, slots=True)
class ApprovalLine:
    sku: str
    item_name: str
    lot: str
    expected: int | None  # on-hand at the item's first scan (the variance's base); None for an adjustment
    counted: int | None
    variance: int
    value_cents: int
    status: str
    review_reason: str = ""
    expected_at_start: int | None = None  # on-hand when the count started (snapshot); None for an adjustment
    entered: bool = True  # False: the counter never scanned it, it was counted 0 at submit

    @property
    def not_counted(self) -> bool:
        """Expected in the bin, never scanned: skipped rather than missing? The manager asks first."""
        return not self.entered and (self.expected or 0) > 0


@dataclass(frozen=True, slots=True)
class ApprovalEntry:
    kind: Literal["count", "adjustment"]
    id: int
    location: str
    reason: str
    requested_by: str
    requested_at: datetime
    lines: list[ApprovalLine]
    # The bin had ledger movements between the count's start and its submit (not the count's own
    # corrections): a variance then deserves a second look. Always False for an adjustment.
    moved_during_count: bool = False

    @property
    def value_cents(self) -> int:
        return sum(line.value_cents for line in self.lines)

    @property
    def units(self) -> int:
        """Net change in units if approved (negative: written off)."""
        return sum(line.variance for line in self.lines)

    @property
    def units_moved(self) -> int:
        return sum(abs(line.variance) for line in self.lines)

    @property
    def not_counted(self) -> int:
        return sum(1 for line in self.lines if line.not_counted)


# Movements into or out of the bin from the start to the submit of the count, leaving out the
# corrections the count itself posted at submit (their command keys are on its lines). One index
# range per side (movements_from / movements_to from the movement id noted at the start), so it reads
# the bin's movements since the count started, not every movement the bin ever had.
_MOVED_ON_SIDE_SQL = (
    "EXISTS (SELECT 1 FROM movements m WHERE m.{side}_location_id = t.bin_id"
    " AND m.id > COALESCE(t.started_after_movement_id, 0)"
    " AND m.created_at >= t.started_at AND m.created_at <= t.submitted_at"
    " AND NOT EXISTS (SELECT 1 FROM count_lines own WHERE own.task_id = t.id AND own.ledger_key = m.command_key))"
)
_MOVED_DURING_COUNT_SQL = (
    f"({_MOVED_ON_SIDE_SQL.format(side='from')} OR {_MOVED_ON_SIDE_SQL.format(side='to')})"
)


async def _count_entries(limit: int) -> list[ApprovalEntry]:
    tasks = await db.fetch(
        "SELECT t.id, l.code AS location, t.reason, t.submitted_by AS requested_by, t.submitted_at AS requested_at,"
        f" {_MOVED_DURING_COUNT_SQL} AS moved_during_count"
        " FROM count_tasks t JOIN locations l ON l.id = t.bin_id WHERE t.status = 'pending_approval'"
        " ORDER BY t.submitted_at, t.id LIMIT {}",
        limit,
    )
    if not tasks:
        return []
    marks = ", ".join("{}" for _ in tasks)
    rows = await db.fetch(
        f"SELECT l.task_id, i.sku, i.name AS item_name, l.lot, {_tasks.LINE_EXPECTED_SQL} AS expected,"
        " l.counted_qty AS counted, l.variance, l.value_cents, l.status, l.review_reason,"
        " COALESCE(s.expected_qty, 0) AS expected_at_start, l.entered"
        f" FROM count_lines l JOIN items i ON i.id = l.item_id {_tasks.SNAPSHOT_JOIN_SQL}"
        f" WHERE l.task_id IN ({marks}) AND l.status IN ('pending_approval', 'needs_review')"
        " ORDER BY l.task_id, i.sku_key, l.lot",
        *[t["id"] for t in tasks],
    )
    lines: dict[int, list[ApprovalLine]] = {t["id"]: [] for t in tasks}
    for r in rows:
        r["entered"] = bool(r["entered"])  # SQLite answers 0/1
        lines[r.pop("task_id")].append(ApprovalLine(**r))
    entries = []
    for t in tasks:
        moved = bool(t.pop("moved_during_count"))  # SQLite answers 0/1
        entries.append(ApprovalEntry("count", lines=lines[t["id"]], moved_during_count=moved, **t))
    return entries


async def _adjustment_entries(limit: int) -> list[ApprovalEntry]:
    rows = await db.fetch(
        "SELECT a.id, l.code AS location, a.reason, a.requested_by, a.requested_at, i.sku, i.name AS item_name,"
        " a.lot, a.delta, a.value_cents FROM adjustment_requests a JOIN items i ON i.id = a.item_id"
        " JOIN locations l ON l.id = a.location_id WHERE a.status = 'pending_approval'"
        " ORDER BY a.requested_at, a.id LIMIT {}",
        limit,
    )
    return [
        ApprovalEntry("adjustment", r["id"], r["location"], r["reason"], r["requested_by"], r["requested_at"],
                      [ApprovalLine(r["sku"], r["item_name"], r["lot"], None, None, r["delta"], r["value_cents"],
                                    "pending_approval")])
        for r in rows
    ]


async def approvals_queue(limit: int = 100) -> list[ApprovalEntry]:
    """Counts and adjustment requests waiting for a manager, oldest first."""
    limit = max(1, min(limit, APPROVALS_QUEUE_MAX))
    entries = await _count_entries(limit) + await _adjustment_entries(limit)
    entries.sort(key=lambda e: (e.requested_at, e.kind, e.id))
    return entries[:limit]
