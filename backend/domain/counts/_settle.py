"""Turning counted lines into ledger corrections: delta = counted − expected at the item's first scan.

The rule
--------
* The expected quantity of a line is the bin's on-hand of that (item, lot) *when the count of
  that item started*: the first `record_count` of the (item, lot) in the task reads the current
  balance into `count_lines.expected_qty`, in the same transaction as the scan. Later scans of
  the same line (`add` or `set`) change the counted quantity, never the expected one: a `set`
  corrects what was counted (a typo, a recount of the same moment), it does not restart the clock.
* The variance `counted − expected` is posted as a delta against the bin's balance *at posting
  time* (submit, or a manager's approval), never as "set the balance to the count".
* Snapshot items nobody scanned are settled at submit with counted = 0 and expected = their
  on-hand at submit: the whole remaining quantity is written off as not found. They go through
  the same thresholds as any other line, so a large write-off waits for a manager.
* The start snapshot (`count_snapshot`) is kept as a record of the bin at start (the approvals
  queue shows it as "at start") and decides which unscanned items are written off, but it never
  sizes a correction.

Why
---
A bin keeps working while it is counted: picks, putaways and moves post between the start of
the task and the moment the counter gets to each item. A count is a statement about one moment
("7 here now"), so it must be compared with what the ledger believed at that same moment.

* Movement *before* the item is counted. Start: 10; a picker takes 3; the counter finds 7.
  Against the start snapshot the delta would be 7 − 10 = −3 on top of the 7 left, ending at 4:
  the pick counted twice. Against the first-scan expected (7) the delta is 0, ending at 7.
* Movement *after* the item is counted. Counted 19 of 20 expected (one really missing), then 5
  are moved out, leaving 15. The delta −1 applied to the current 15 gives 14; setting the
  balance to the count (19) or comparing with the balance at submit would undo the move.

What it cannot tell apart: stock moving while one item is being counted (between its first
`add` scan and its last), or a pick posted late against what was physically taken earlier. The
approvals queue therefore flags counts whose bin had movements between start and submit
(`moved_during_count`) so a manager can look twice, and a delta that no longer fits the current
balance (it would go below zero or below what is reserved) waits for review instead of posting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db, metrics
from backend.domain.auth.audit import Actor
from backend.domain.counts import _tasks
from backend.domain.counts._common import Thresholds
from backend.domain.counts._corrections import Correction, adjust_command, why_not_postable_on
from backend.domain.counts._tasks import LineToSettle
from backend.domain.idempotency import check_key, derived_key
from backend.domain.ledger import batches
from backend.domain.locations.service import LocationView, get_location_by_id

COUNT_CORRECTION = "count_correction"
WAITING_STATUSES = ("pending_approval", "needs_review")
# stockline_settle_count (migration m0017): the whole settlement as one statement on PostgreSQL.
_SETTLE_SQL = "SELECT * FROM stockline_settle_count($1, $2, $3, $4, $5, $6, $7, $8)"


@dataclass(frozen=True, slots=True)
class Settled:
    status: str
    review_reason: str = ""
    ledger_key: str | None = None
    movement_ids: tuple[int, ...] = ()


def _before_stock(line: LineToSettle, thresholds: Thresholds | None) -> Settled | None:
    """What a line comes to without looking at stock (None: it posts if the stock allows)."""
    if line.variance == 0:
        return Settled("matched")
    if thresholds is not None and not thresholds.allows(line.variance, line.item.unit_cost_cents):
        return Settled("pending_approval")
    return None


async def _record(lines: list[LineToSettle], settled: dict[int, Settled]) -> None:
    """Every line's variance, value, status and ledger key, in one statement."""
    rows = [(line.id, line.variance, abs(line.variance) * line.item.unit_cost_cents, settled[line.id].status,
             settled[line.id].review_reason, settled[line.id].ledger_key) for line in lines]
    table, args = db.values_table((("id", "bigint"), ("variance", "bigint"), ("value_cents", "bigint"),
                                   ("status", "text"), ("review_reason", "text"), ("ledger_key", "text")), rows)
    await db.fetch(
        "UPDATE count_lines SET variance = u.variance, value_cents = u.value_cents, status = u.status,"
        f" review_reason = u.review_reason, ledger_key = u.ledger_key FROM {table} WHERE count_lines.id = u.id",
        *args,
    )


async def settle(task_id: int, bin_: LocationView, lines: list[LineToSettle], thresholds: Thresholds | None,
                 key: str, actor: Actor) -> tuple[list[int], bool]:
    """Post what may be posted; returns (movement ids, whether any line still waits for a manager).

    `thresholds=None` means a manager approved the lines: post them whatever their size.

    Set-based: the balances of the lines that may post are read and locked in one statement, checked
    line by line, and the corrections post as one ledger command under a key derived from this one
    (`batches.post_adjustments_as_one`: one movement per line, each checked as an Adjust is), then every
    line is recorded in one statement.
    """
    if not lines:
        return [], False
    settled = {line.id: s for line in lines if (s := _before_stock(line, thresholds)) is not None}
    candidates = [line for line in lines if line.id not in settled]
    balances = await batches.lock_balances([(line.item.id, bin_.id, line.lot) for line in candidates])
    postable: list[LineToSettle] = []
    for line in candidates:  # already in lock order
        correction = Correction(line.item, bin_, line.lot, line.variance)
        found = balances.get((line.item.id, bin_.id, line.lot))
        blocked = why_not_postable_on(correction, None if found is None else {
            "on_hand": found.on_hand, "reserved": found.reserved, "quarantined": found.quarantined,
            "damaged": found.damaged})
        if blocked:
            settled[line.id] = Settled("needs_review", blocked)
        else:
            postable.append(line)
    lkey = derived_key(key, "corrections")
    posted = await batches.post_adjustments_as_one(
        lkey, [adjust_command(Correction(line.item, bin_, line.lot, line.variance), reason=COUNT_CORRECTION,
                              doc_ref=f"COUNT-{task_id}") for line in postable], actor=actor.label,
        known_items=[line.item for line in postable], known_locations=[bin_], locked=True)
    for line, ids in zip(postable, posted, strict=True):
        settled[line.id] = Settled("posted", "", lkey, tuple(ids))
    await _record(lines, settled)
    movement_ids = [m for line in lines for m in settled[line.id].movement_ids]
    return movement_ids, any(s.status in WAITING_STATUSES for s in settled.values())


@dataclass(frozen=True, slots=True)
class Settlement:
    movement_ids: list[int]
    waiting: bool  # a line still waits for a manager
    lines: int  # lines settled


async def settle_task(task_id: int, bin_id: int, statuses: tuple[str, ...], thresholds: Thresholds | None,
                      key: str, actor: Actor) -> Settlement:
    """Settle the task's lines in `statuses` (see `settle`). PostgreSQL runs it as one statement,
    `stockline_settle_count` (migration m0017), by the same rules; what that statement hands back
    (`fallback`, nothing written) and SQLite run the in-process path."""
    lkey = check_key(derived_key(key, "corrections"))
    if db.is_postgres():
        row = await db.pg_fetchrow(_SETTLE_SQL, task_id, list(statuses), thresholds is None,
                                   0 if thresholds is None else thresholds.units,
                                   0 if thresholds is None else thresholds.value_cents, lkey, actor.label,
                                   datetime.now(UTC))
        assert row is not None
        if row["status"] == "posted":
            movement_ids = list(row["movement_ids"])
            if movement_ids:
                db.after_commit(lambda: metrics.ledger_posted(batches.ADJUST_MANY_KIND, len(movement_ids)))
            return Settlement(movement_ids, bool(row["waiting"]), int(row["lines"]))
        assert row["status"] == "fallback", row["status"]
    lines = await _tasks.lines_to_settle(task_id, statuses)
    movement_ids, waiting = await settle(task_id, await get_location_by_id(bin_id), lines, thresholds, key, actor)
    return Settlement(movement_ids, waiting, len(lines))
