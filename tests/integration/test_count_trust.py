"""Counts a manager can trust (SQLite and PostgreSQL): skipped items flagged, totals, recounts by
someone else, adjustments that could never be approved refused at entry."""

from __future__ import annotations

import pytest

from backend.domain import counts, errors
from backend.domain.auth.audit import Actor
from backend.domain.auth.users import create_user
from tests.factories import key
from tests.integration.test_counts import MANAGER, count, started_count, submit

pytestmark = pytest.mark.usefixtures("ledger_db")
SYSTEM = Actor("system:test")


async def counter(code: str, name: str) -> Actor:
    user = await create_user(code, name, "counter", "4321", SYSTEM)
    return Actor(name, "hh-9", user_id=user.id, role="counter")


async def test_a_skipped_item_is_flagged_not_counted_and_the_count_shows_its_totals():
    _, task_id = await started_count({"MUG": 40, "LAMP": 30})
    await count(task_id, "MUG", 25)
    await submit(task_id)  # LAMP never scanned: counted 0 at submit
    [entry] = await counts.approvals_queue()
    flags = {line.sku: line.not_counted for line in entry.lines}
    assert flags == {"LAMP": True, "MUG": False}
    assert (entry.units, entry.units_moved, entry.not_counted) == (-45, 45, 1)


async def test_the_first_counter_leaves_a_recount_to_another_counter_where_there_is_one():
    ana, bo = await counter("B-ANA", "Ana"), await counter("B-BO", "Bo")
    _, task_id = await started_count({"MUG": 50})
    await counts.record_count(task_id, "MUG", 20, key(), ana)
    await counts.submit_count(task_id, key(), ana)
    rejected = await counts.reject_count(task_id, key(), MANAGER, note="Recount: 30 missing is unlikely.")
    with pytest.raises(errors.SegregationOfDuties, match="another counter counts it, for example Bo"):
        await counts.start_count(rejected.recount_task_id, key(), ana)
    started = await counts.start_count(rejected.recount_task_id, key(), bo)
    assert started.status == "counting"


async def test_the_only_counter_may_recount_their_own_bin():
    ana = await counter("B-ANA", "Ana")
    _, task_id = await started_count({"MUG": 50})
    await counts.record_count(task_id, "MUG", 20, key(), ana)
    await counts.submit_count(task_id, key(), ana)
    rejected = await counts.reject_count(task_id, key(), MANAGER, note="Recount, please.")
    assert (await counts.start_count(rejected.recount_task_id, key(), ana)).status == "counting"


async def test_an_adjustment_removing_more_than_the_bin_holds_is_refused_at_entry():
    b1, _ = await started_count({"MUG": 186})
    with pytest.raises(errors.InvalidQuantity,
                       match="Only 186 MUG on hand in WH1-B1: an adjustment can remove at most 186"):
        await counts.request_adjustment("MUG", b1, -99_999, "damaged", key(), MANAGER)
