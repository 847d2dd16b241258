"""Count task rows: insert, guarded status transitions, and the lines waiting to be settled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView, items_by_id
from backend.domain.counts._common import now
from backend.domain.errors import AlreadyExists, Conflict, UnknownReference
from backend.domain.locations.service import LocationView

# A bin has at most one task in these states (unique partial index): two live counts of one
# bin would each post their variance and correct the same shortage twice.
ACTIVE_STATUSES = ("open", "counting", "pending_approval")
_ACTIVE_SQL = "('open','counting','pending_approval')"

_STATUS_WORDS = {
    "open": "not started yet",
    "counting": "being counted",
    "pending_approval": "waiting for a manager",
    "completed": "already finished",
    "rejected": "rejected",
}
_NEEDS = {
    "open": "Only a new count can be started.",
    "counting": "Start the count first; scans and submit belong to a started count.",
    "pending_approval": "Only a count waiting for a manager can be approved or rejected.",
}
TASK_COLUMNS = "id, bin_id, item_id, status, started_by_user_id, submitted_by_user_id"


async def insert_task(bin_: LocationView, item: ItemView | None, reason: str, command_key: str, actor: Actor,
                      recount_of: int | None = None) -> int:
    row = await db.fetch_one(
        "INSERT INTO count_tasks (command_key, bin_id, item_id, reason, status, recount_of, created_by, created_at)"
        " VALUES ({}, {}, {}, {}, 'open', {}, {}, {})"
        f" ON CONFLICT (bin_id) WHERE status IN {_ACTIVE_SQL} DO NOTHING RETURNING id",
        command_key, bin_.id, item.id if item else None, reason, recount_of, actor.label, now(),
    )
    if row is not None:
        return int(row["id"])
    live = await db.fetch_one(
        f"SELECT id FROM count_tasks WHERE bin_id = {{}} AND status IN {_ACTIVE_SQL}", bin_.id
    )
    assert live is not None
    raise AlreadyExists(f"{bin_.code} already has count #{live['id']} in progress. Finish that one first.")


async def active_task_for_bin(location_id: int) -> int | None:
    row = await db.fetch_one(
        f"SELECT id FROM count_tasks WHERE bin_id = {{}} AND status IN {_ACTIVE_SQL}", location_id
    )
    return row["id"] if row else None


async def transition(task_id: int, expected: str, assignments: str, *args: Any) -> dict[str, Any]:
    """Guarded update of a task in state `expected`; the row stays locked until commit (Postgres)."""
    row = await db.fetch_one(
        "UPDATE count_tasks SET " + assignments + " WHERE id = {} AND status = {} RETURNING " + TASK_COLUMNS,
        *args, task_id, expected,
    )
    if row is None:
        raise await _state_error(task_id, expected)
    return row


async def in_state(task_id: int, expected: str) -> dict[str, Any]:
    """The task if it is in state `expected` (reads only: what `transition` would refuse, refused)."""
    row = await db.fetch_one("SELECT " + TASK_COLUMNS + " FROM count_tasks WHERE id = {}", task_id)
    if row is None or row["status"] != expected:
        raise await _state_error(task_id, expected)
    return row


async def _state_error(task_id: int, expected: str) -> Exception:
    row = await db.fetch_one("SELECT status FROM count_tasks WHERE id = {}", task_id)
    if row is None:
        return UnknownReference(f"No count task #{task_id}. Check the task number.")
    return Conflict(f"Count #{task_id} is {_STATUS_WORDS[row['status']]}. {_NEEDS[expected]}")


async def set_status(task_id: int, status: str) -> None:
    await db.fetch("UPDATE count_tasks SET status = {} WHERE id = {}", status, task_id)


async def counter_ids(task: dict[str, Any]) -> set[int | None]:
    """Everyone who started, scanned or submitted this count (they may not decide on it)."""
    rows = await db.fetch(
        "SELECT DISTINCT counted_by_user_id FROM count_entries WHERE task_id = {} AND counted_by_user_id IS NOT NULL",
        task["id"],
    )
    ids = {r["counted_by_user_id"] for r in rows} | {task["started_by_user_id"], task["submitted_by_user_id"]}
    return ids - {None}


@dataclass(frozen=True, slots=True)
class LineToSettle:
    id: int
    item: ItemView
    lot: str
    counted: int
    expected: int  # on-hand when this item's count started (first scan), see _settle

    @property
    def variance(self) -> int:
        return self.counted - self.expected


# The expected quantity a line's variance is computed from. A line without one was written by a
# release before m0005 (in flight during a rolling deploy): it keeps that release's rule, the
# start snapshot, as the migration's backfill does.
LINE_EXPECTED_SQL = "COALESCE(l.expected_qty, s.expected_qty, 0)"
SNAPSHOT_JOIN_SQL = ("LEFT JOIN count_snapshot s"
                     " ON s.task_id = l.task_id AND s.item_id = l.item_id AND s.lot = l.lot")


async def lines_to_settle(task_id: int, statuses: tuple[str, ...]) -> list[LineToSettle]:
    marks = ", ".join("{}" for _ in statuses)
    rows = await db.fetch(
        f"SELECT l.id, l.item_id, l.lot, l.counted_qty, {LINE_EXPECTED_SQL} AS expected"
        f" FROM count_lines l {SNAPSHOT_JOIN_SQL}"
        f" WHERE l.task_id = {{}} AND l.status IN ({marks})",
        task_id, *statuses,
    )
    items = await items_by_id(sorted({r["item_id"] for r in rows}))
    lines = [LineToSettle(r["id"], items[r["item_id"]], r["lot"], int(r["counted_qty"]), int(r["expected"]))
             for r in rows]
    # Python order, like the ledger's lock order (item, location, lot); the location is fixed.
    return sorted(lines, key=lambda line: (line.item.id, line.lot))
