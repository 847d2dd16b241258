"""Cycle counts, blind counts, variance approval and adjustment requests on SQLite and Postgres."""

from __future__ import annotations

import dataclasses
import json

import pytest

from backend import db
from backend.domain import counts, errors
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item
from backend.domain.ledger import commands as c
from backend.domain.locations.service import get_location
from tests.factories import item, key, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")

COUNTER = Actor("ana", "hh-1", user_id=1, role="counter")
MANAGER = Actor("max", "tab-1", user_id=2, role="manager")
OTHER_MANAGER = Actor("mo", "tab-2", user_id=3, role="manager")
PICKER = Actor("pia", "hh-2", user_id=4, role="picker")
LEAD = Actor("leo", "hh-3", user_id=5, role="lead")
CASE_GTIN = "10012345678902"


async def on_hand(sku: str, bin_code: str) -> int:
    row = await db.fetch_one(
        "SELECT on_hand FROM balances WHERE item_id = {} AND location_id = {} AND lot = ''",
        (await get_item(sku)).id, (await get_location(bin_code)).id,
    )
    return int(row["on_hand"]) if row else 0


async def corrections(reason: str = "count_correction") -> list[dict]:
    return await db.fetch("SELECT qty, from_location_id, to_location_id, doc_ref FROM movements WHERE reason = {}",
                          reason)


async def started_count(stock: dict[str, int], **item_kwargs) -> tuple[str, int]:
    """A bin holding `stock` (sku -> qty) and a started count of it; returns (bin, task id)."""
    b1, *_ = await warehouse()
    for sku, qty in stock.items():
        await item(sku, **item_kwargs)
        await receive(sku, qty, b1)
    task = await counts.create_count_task(b1, key("new"), COUNTER)
    await counts.start_count(task.task_id, key("start"), COUNTER)
    return b1, task.task_id


async def count(task_id: int, code: str, qty: int, actor: Actor = COUNTER, **kwargs) -> counts.RecordedCount:
    return await counts.record_count(task_id, code, qty, key("scan"), actor, **kwargs)


async def submit(task_id: int, actor: Actor = COUNTER, **kwargs) -> counts.CountOutcome:
    return await counts.submit_count(task_id, key("submit"), actor, **kwargs)


async def move(sku: str, qty: int, from_bin: str, to_bin: str = "WH1-B2") -> None:
    """Stock moved by someone else (a pick, a replenishment) while the count is open."""
    await c.execute(c.Move(sku=sku, qty=qty, from_location=from_bin, to_location=to_bin), key=key(), actor="picker")


async def line_expected(task_id: int, sku: str) -> int:
    row = await db.fetch_one(
        "SELECT expected_qty FROM count_lines WHERE task_id = {} AND item_id = {} AND lot = ''",
        task_id, (await get_item(sku)).id,
    )
    assert row is not None
    return int(row["expected_qty"])


async def test_counter_view_never_shows_expected_quantities():
    _, task_id = await started_count({"MUG": 37, "TEA": 19})
    recorded = await count(task_id, "MUG", 35)
    before = await counts.counter_view(task_id)
    await submit(task_id)
    after = await counts.counter_view(task_id)
    for shown in (recorded, before, after):
        text = json.dumps(dataclasses.asdict(shown))
        assert "expected" not in text and "variance" not in text
        assert "37" not in text and "19" not in text and "TEA" not in text  # TEA was expected, not counted
    assert after.lines == [counts.CountedLine("MUG", "Item MUG", "", 35)]


async def test_small_variance_posts_a_count_correction_at_submit():
    b1, task_id = await started_count({"MUG": 20})
    await count(task_id, "MUG", 18)
    outcome = await submit(task_id)
    assert outcome.status == "completed"
    assert await on_hand("MUG", b1) == 18
    [moved] = await corrections()
    assert moved["qty"] == 2 and moved["doc_ref"] == f"COUNT-{task_id}"


async def test_stock_moved_during_the_count_is_not_counted_twice():
    b1, task_id = await started_count({"MUG": 20})
    await count(task_id, "MUG", 19)  # one unit really missing
    await c.execute(c.Move(sku="MUG", qty=5, from_location=b1, to_location="WH1-B2"), key=key(), actor="picker")
    await submit(task_id)
    # counted − expected at the first scan (20) = −1, applied to the 15 left now;
    # not counted − current (19 − 15 = +4).
    assert await on_hand("MUG", b1) == 14


async def test_stock_picked_before_the_item_is_counted_is_not_written_off_again():
    """Start 10, a picker takes 3, the counter finds 7 and enters 7: nothing to correct.

    The expected quantity is read at the item's first scan (7). The old rule compared the count
    with the snapshot at start (7 − 10 = −3) and applied that to the 7 left, ending at 4.
    """
    b1, task_id = await started_count({"MUG": 10})
    await move("MUG", 3, b1)
    await count(task_id, "MUG", 7)
    outcome = await submit(task_id)
    assert (outcome.status, outcome.movement_ids) == ("completed", [])
    assert await on_hand("MUG", b1) == 7 and await corrections() == []


async def test_variance_uses_the_first_scan_and_posts_against_the_balance_at_submit():
    b1, task_id = await started_count({"MUG": 20})
    await move("MUG", 4, b1)  # before MUG is counted: 16 expected from now on
    await count(task_id, "MUG", 15)  # one really missing
    await move("MUG", 5, b1)  # after it was counted: 11 left
    await count(task_id, "MUG", 15)  # the counter re-enters the same count: it does not move the expected
    assert await line_expected(task_id, "MUG") == 16
    outcome = await submit(task_id)
    [moved] = await corrections()
    assert moved["qty"] == 1 and moved["from_location_id"] == (await get_location(b1)).id
    assert outcome.movement_ids and await on_hand("MUG", b1) == 10  # 11 − 1: neither move counted twice


async def test_approval_posts_the_first_scan_variance_against_the_balance_at_approval():
    b1, task_id = await started_count({"MUG": 50}, unit_cost_cents=100)
    await move("MUG", 10, b1)
    await count(task_id, "MUG", 25)  # 40 there when counted: 15 missing
    assert (await submit(task_id)).status == "pending_approval"
    [entry] = await counts.approvals_queue()
    assert entry.lines == [counts.ApprovalLine("MUG", "Item MUG", "", 40, 25, -15, 1500, "pending_approval",
                                               expected_at_start=50)]
    await move("MUG", 5, b1)  # after the count: 35 left
    assert (await counts.approve_count(task_id, key(), MANAGER)).status == "completed"
    assert await on_hand("MUG", b1) == 20


async def test_correction_that_would_go_below_zero_waits_for_review():
    b1, task_id = await started_count({"MUG": 10})
    await count(task_id, "MUG", 2)
    await c.execute(c.Move(sku="MUG", qty=9, from_location=b1, to_location="WH1-B2"), key=key(), actor="picker")
    outcome = await submit(task_id, thresholds=counts.Thresholds(units=10, value_cents=10**6))
    assert outcome.status == "pending_approval" and outcome.movement_ids == []
    [entry] = await counts.approvals_queue()
    [line] = entry.lines
    assert line.status == "needs_review" and "below zero" in line.review_reason
    assert await on_hand("MUG", b1) == 1


async def test_uncounted_item_counts_as_zero_at_submit():
    b1, task_id = await started_count({"MUG": 5, "TEA": 3})
    await count(task_id, "MUG", 5)
    await submit(task_id)
    assert await on_hand("TEA", b1) == 0 and await on_hand("MUG", b1) == 5


async def test_item_nobody_scanned_is_written_off_against_its_on_hand_at_submit():
    b1, task_id = await started_count({"MUG": 5, "TEA": 8})
    await move("TEA", 3, b1)  # 5 TEA left, then nobody finds any
    await count(task_id, "MUG", 5)
    assert (await submit(task_id)).status == "completed"
    [moved] = await corrections()
    assert moved["qty"] == 5  # what was still on hand, not the 8 of the start snapshot
    assert await on_hand("TEA", b1) == 0 and await line_expected(task_id, "TEA") == 5
    assert (await counts.counter_view(task_id)).lines == [counts.CountedLine("MUG", "Item MUG", "", 5)]


async def test_large_write_off_of_an_item_nobody_scanned_waits_for_a_manager():
    b1, task_id = await started_count({"MUG": 5, "TEA": 30})
    await move("TEA", 10, b1)
    await count(task_id, "MUG", 5)
    assert (await submit(task_id)).status == "pending_approval"
    assert await on_hand("TEA", b1) == 20
    [entry] = await counts.approvals_queue()
    # 20 on hand at submit are written off; under the old rule −30 (the snapshot) would not fit the 20.
    assert entry.lines == [counts.ApprovalLine("TEA", "Item TEA", "", 20, 0, -20, 0, "pending_approval",
                                               expected_at_start=30, entered=False)]
    assert (entry.lines[0].not_counted, entry.not_counted, entry.units) == (True, 1, -20)
    assert (await counts.approve_count(task_id, key(), MANAGER)).status == "completed"
    assert await on_hand("TEA", b1) == 0 and await on_hand("MUG", b1) == 5


async def test_case_barcode_counts_24_each():
    b1, *_ = await warehouse()
    await item("MUG", case_gtin=CASE_GTIN)
    await receive("MUG", 48, b1)
    task = await counts.create_count_task(b1, key(), COUNTER, item_sku="MUG")
    await counts.start_count(task.task_id, key(), COUNTER)
    recorded = await count(task.task_id, CASE_GTIN, 2)
    assert recorded.line.counted == 48


async def test_variance_beyond_threshold_waits_and_approval_posts_it():
    b1, task_id = await started_count({"MUG": 50}, unit_cost_cents=250)
    await count(task_id, "MUG", 30)
    assert (await submit(task_id)).status == "pending_approval"
    assert await on_hand("MUG", b1) == 50
    [entry] = await counts.approvals_queue()
    # Nothing moved: expected at the first scan and at the start are both 50.
    assert entry.lines == [counts.ApprovalLine("MUG", "Item MUG", "", 50, 30, -20, 5000, "pending_approval",
                                               expected_at_start=50)]
    assert entry.moved_during_count is False
    approved = await counts.approve_count(task_id, key("ok"), MANAGER)
    assert approved.status == "completed" and await on_hand("MUG", b1) == 30
    assert await counts.approvals_queue() == []


async def test_variance_over_the_value_threshold_waits():
    b1, task_id = await started_count({"MUG": 10}, unit_cost_cents=1000)
    await count(task_id, "MUG", 4)  # 6 units: within 10 units, but 60.00 > 50.00
    assert (await submit(task_id)).status == "pending_approval"
    assert await on_hand("MUG", b1) == 10


async def test_counter_cannot_approve_their_own_count():
    b1, task_id = await started_count({"MUG": 50})
    await count(task_id, "MUG", 30, actor=OTHER_MANAGER)
    await submit(task_id)
    with pytest.raises(errors.SegregationOfDuties, match="You counted this bin"):
        await counts.approve_count(task_id, key(), OTHER_MANAGER)
    assert await on_hand("MUG", b1) == 50


async def test_picker_cannot_approve_a_count():
    _, task_id = await started_count({"MUG": 50})
    await count(task_id, "MUG", 30)
    await submit(task_id)
    with pytest.raises(errors.NotPermitted):
        await counts.approve_count(task_id, key(), PICKER)


async def test_rejected_count_posts_nothing_and_asks_for_a_recount():
    b1, task_id = await started_count({"MUG": 50})
    await count(task_id, "MUG", 30)
    await submit(task_id)
    rejected = await counts.reject_count(task_id, key(), MANAGER, note="Half the bin is behind the pallet.")
    assert rejected.status == "rejected"
    assert await on_hand("MUG", b1) == 50 and await corrections() == []
    [recount] = await counts.open_count_tasks()
    assert (recount.id, recount.reason, recount.recount_of) == (rejected.recount_task_id, "recount", task_id)


async def test_picker_cannot_record_a_count():
    _, task_id = await started_count({"MUG": 5})
    with pytest.raises(errors.NotPermitted):
        await count(task_id, "MUG", 5, actor=PICKER)


async def test_second_live_count_of_the_same_bin_is_refused():
    b1, task_id = await started_count({"MUG": 5})
    with pytest.raises(errors.AlreadyExists, match=f"count #{task_id}"):
        await counts.create_count_task(b1, key(), COUNTER)


async def test_replayed_submit_posts_nothing_twice():
    b1, task_id = await started_count({"MUG": 20})
    await count(task_id, "MUG", 17)
    first = await counts.submit_count(task_id, "submit-once", COUNTER)
    again = await counts.submit_count(task_id, "submit-once", COUNTER)
    assert again.replayed and again.movement_ids == first.movement_ids and again.status == first.status
    assert len(await corrections()) == 1 and await on_hand("MUG", b1) == 17


async def test_replayed_add_scan_is_counted_once():
    _, task_id = await started_count({"MUG": 20})
    await counts.record_count(task_id, "MUG", 3, "scan-once", COUNTER, mode="add")
    again = await counts.record_count(task_id, "MUG", 3, "scan-once", COUNTER, mode="add")
    assert again.replayed and again.line.counted == 3
    assert (await counts.counter_view(task_id)).lines[0].counted == 3


async def test_same_key_for_a_different_scan_is_refused():
    _, task_id = await started_count({"MUG": 20})
    await counts.record_count(task_id, "MUG", 3, "scan-key", COUNTER)
    with pytest.raises(errors.IdempotencyConflict):
        await counts.record_count(task_id, "MUG", 4, "scan-key", COUNTER)


async def test_longest_client_key_still_posts_its_corrections():
    b1, task_id = await started_count({"MUG": 20})
    await count(task_id, "MUG", 19)
    await counts.submit_count(task_id, "k" * 128, COUNTER)
    assert await on_hand("MUG", b1) == 19


async def test_replayed_approval_posts_once():
    b1, task_id = await started_count({"MUG": 50})
    await count(task_id, "MUG", 30)
    await submit(task_id)
    await counts.approve_count(task_id, "approve-once", MANAGER)
    assert (await counts.approve_count(task_id, "approve-once", MANAGER)).replayed
    assert len(await corrections()) == 1 and await on_hand("MUG", b1) == 30


async def test_every_count_step_writes_an_audit_row():
    _, task_id = await started_count({"MUG": 50})
    await count(task_id, "MUG", 30)
    await submit(task_id)
    await counts.approve_count(task_id, key(), MANAGER)
    rows = await audit.recent(entity="count_task", entity_id=str(task_id))
    assert [r["action"] for r in reversed(rows)] == [
        "count.created", "count.started", "count.recorded", "count.submitted", "count.approved",
    ]
    assert rows[0]["actor"] == "max"


async def test_picker_adjustment_waits_and_manager_approval_posts_it():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    requested = await counts.request_adjustment("MUG", b1, -3, "damaged", key(), PICKER)
    assert requested.status == "pending_approval" and await on_hand("MUG", b1) == 10
    [entry] = await counts.approvals_queue()
    assert (entry.kind, entry.id, entry.lines[0].variance) == ("adjustment", requested.request_id, -3)
    approved = await counts.approve_adjustment(requested.request_id, key(), MANAGER)
    assert approved.status == "posted" and await on_hand("MUG", b1) == 7
    [moved] = await corrections("damaged")
    assert moved["doc_ref"] == f"ADJ-{requested.request_id}"


async def test_lead_posts_a_small_adjustment_directly():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    posted = await counts.request_adjustment("MUG", b1, -2, "lost", key(), LEAD)
    assert posted.status == "posted" and len(posted.movement_ids) == 1
    assert await on_hand("MUG", b1) == 8


async def test_lead_adjustment_above_threshold_waits():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 30, b1)
    requested = await counts.request_adjustment("MUG", b1, -20, "lost", key(), LEAD)
    assert requested.status == "pending_approval" and await on_hand("MUG", b1) == 30


async def test_requester_cannot_approve_their_own_adjustment():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 30, b1)
    requested = await counts.request_adjustment("MUG", b1, -20, "theft", key(), MANAGER)
    with pytest.raises(errors.SegregationOfDuties, match="You asked for this adjustment"):
        await counts.approve_adjustment(requested.request_id, key(), MANAGER)


async def test_rejected_adjustment_posts_nothing():
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 10, b1)
    requested = await counts.request_adjustment("MUG", b1, 5, "found", key(), PICKER)
    rejected = await counts.reject_adjustment(requested.request_id, key(), MANAGER, note="Those are in B2.")
    assert rejected.status == "rejected" and await on_hand("MUG", b1) == 10
    with pytest.raises(errors.Conflict, match="already rejected"):
        await counts.approve_adjustment(requested.request_id, key(), OTHER_MANAGER)


async def test_adjustment_is_refused_while_the_bin_is_counted():
    b1, _ = await started_count({"MUG": 10})
    with pytest.raises(errors.Conflict, match="being counted"):
        await counts.request_adjustment("MUG", b1, -1, "lost", key(), LEAD)


async def test_approvals_queue_lists_the_oldest_first():
    _, task_id = await started_count({"MUG": 50})
    await count(task_id, "MUG", 30)
    await submit(task_id)
    await receive("MUG", 30, "WH1-B2")
    requested = await counts.request_adjustment("MUG", "WH1-B2", -20, "lost", key(), PICKER)
    queue = await counts.approvals_queue()
    assert [(e.kind, e.id) for e in queue] == [("count", task_id), ("adjustment", requested.request_id)]


async def test_approvals_queue_flags_counts_whose_bin_moved_between_start_and_submit():
    b1, quiet = await started_count({"MUG": 50, "TEA": 20})
    await count(quiet, "MUG", 30)  # waits for a manager
    await count(quiet, "TEA", 19)  # small: its own correction posts at submit, which is not "a move"
    await submit(quiet)
    await move("MUG", 5, b1)  # after the submit: not during the count
    busy_out = await counts.create_count_task("WH1-B2", key(), COUNTER)
    await counts.start_count(busy_out.task_id, key(), COUNTER)
    await move("MUG", 2, "WH1-B2", "WH1-B3")  # out of the bin
    await count(busy_out.task_id, "MUG", 1)
    await submit(busy_out.task_id, thresholds=counts.Thresholds(units=0, value_cents=0))
    busy_in = await counts.create_count_task("WH1-B3", key(), COUNTER)
    await counts.start_count(busy_in.task_id, key(), COUNTER)
    await receive("TEA", 4, "WH1-B3")  # into the bin
    await count(busy_in.task_id, "TEA", 3)
    await submit(busy_in.task_id, thresholds=counts.Thresholds(units=0, value_cents=0))
    queue = await counts.approvals_queue()
    assert [(e.id, e.moved_during_count) for e in queue] == [
        (quiet, False), (busy_out.task_id, True), (busy_in.task_id, True),
    ]
