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

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.counts._common import Thresholds
from backend.domain.counts._corrections import Correction, post_correction, why_not_postable
from backend.domain.counts._tasks import LineToSettle
from backend.domain.ledger.posting import derived_key as ledger_key
from backend.domain.locations.service import LocationView

COUNT_CORRECTION = "count_correction"
WAITING_STATUSES = ("pending_approval", "needs_review")


@dataclass(frozen=True, slots=True)
class Settled:
    status: str
    review_reason: str = ""
    ledger_key: str | None = None
    movement_ids: tuple[int, ...] = ()


async def _settle_line(task_id: int, bin_: LocationView, line: LineToSettle, thresholds: Thresholds | None,
                       key: str, actor: Actor) -> Settled:
    if line.variance == 0:
        return Settled("matched")
    if thresholds is not None and not thresholds.allows(line.variance, line.item.unit_cost_cents):
        return Settled("pending_approval")
    correction = Correction(line.item, bin_, line.lot, line.variance)
    blocked = await why_not_postable(correction)
    if blocked:
        return Settled("needs_review", blocked)
    lkey = ledger_key(key, f"adjust:{line.id}")
    ids = await post_correction(correction, reason=COUNT_CORRECTION, doc_ref=f"COUNT-{task_id}", key=lkey,
                                actor=actor)
    return Settled("posted", "", lkey, tuple(ids))


async def settle(task_id: int, bin_: LocationView, lines: list[LineToSettle], thresholds: Thresholds | None,
                 key: str, actor: Actor) -> tuple[list[int], bool]:
    """Post what may be posted; returns (movement ids, whether any line still waits for a manager).

    `thresholds=None` means a manager approved the lines: post them whatever their size.
    """
    movement_ids: list[int] = []
    waiting = False
    for line in lines:  # already in lock order
        done = await _settle_line(task_id, bin_, line, thresholds, key, actor)
        await db.fetch(
            "UPDATE count_lines SET variance = {}, value_cents = {}, status = {}, review_reason = {},"
            " ledger_key = {} WHERE id = {}",
            line.variance, abs(line.variance) * line.item.unit_cost_cents, done.status, done.review_reason,
            done.ledger_key, line.id,
        )
        movement_ids.extend(done.movement_ids)
        waiting = waiting or done.status in WAITING_STATUSES
    return movement_ids, waiting
