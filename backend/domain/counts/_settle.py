"""Turning counted lines into ledger corrections: delta = counted − expected at start.

The delta is applied to the bin's *current* balance, so stock that moved in or out between
start and submit is not counted twice (ARCHITECTURE.md, "Cycle counts").
"""

from __future__ import annotations

from dataclasses import dataclass

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.counts._common import Thresholds, ledger_key
from backend.domain.counts._corrections import Correction, post_correction, why_not_postable
from backend.domain.counts._tasks import LineToSettle
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
