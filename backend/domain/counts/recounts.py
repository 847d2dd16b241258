"""Recounts: a manager who doubts a count asks for a new blind count of the bin, and someone else counts
it where someone else can (the first counter would likely skip the same items again)."""

from __future__ import annotations

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.counts import _tasks

RECOUNTER_ROLES = ("counter", "lead")  # managers decide on counts; they count only when nobody else can
RECOUNTERS_NAMED_MAX = 3


async def recount_refusal(task_id: int, actor: Actor) -> str:
    """Why `actor` may not start this recount ("" when they may): they counted the count it repeats,
    and another active counter is there to do it."""
    row = await db.fetch_one("SELECT recount_of FROM count_tasks WHERE id = {}", task_id)
    if row is None or row["recount_of"] is None or actor.user_id is None:
        return ""
    first = await db.fetch_one(
        "SELECT id, started_by_user_id, submitted_by_user_id FROM count_tasks WHERE id = {}", row["recount_of"]
    )
    assert first is not None, "a recount names the count it repeats"
    counted_first = await _tasks.counter_ids(first)
    if actor.user_id not in counted_first:
        return ""
    marks = ", ".join("{}" for _ in counted_first)
    roles = ", ".join("{}" for _ in RECOUNTER_ROLES)
    others = await db.fetch(
        f"SELECT name FROM users WHERE active AND role IN ({roles}) AND id NOT IN ({marks}) ORDER BY name LIMIT {{}}",
        *RECOUNTER_ROLES, *counted_first, RECOUNTERS_NAMED_MAX,
    )
    if not others:
        return ""
    names = ", ".join(r["name"] for r in others)
    return (f"This recounts a bin you counted (count #{row['recount_of']}): another counter counts it, "
            f"for example {names}.")
