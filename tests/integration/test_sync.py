"""Offline sync replay on SQLite and Postgres: every scan once, in seq order, and physical scans as facts.

`ledger_db` checks after every test that the balances reconcile with the movements (no drift,
nothing negative).
"""

from __future__ import annotations

import asyncio
import random

import pytest

from backend import db
from backend.domain import counts, errors, scan_exceptions
from backend.domain.auth.audit import Actor
from backend.domain.counts.adjustments import MANUAL_REASONS
from backend.domain.fulfillment import service as f
from sync import inbox
from sync.replay import SYNC_BATCH_MAX
from tests.factories import item, key, receive, warehouse
from tests.sync_support import Handheld, by_txn, on_hand, table_count, user

pytestmark = pytest.mark.usefixtures("ledger_db")

B1, B2, B3 = "WH1-B1", "WH1-B2", "WH1-B3"


async def stocked(qty: int = 5, sku: str = "MUG") -> None:
    await warehouse()
    await item(sku)
    if qty:
        await receive(sku, qty, B1)


def actor_of(u) -> Actor:
    return Actor(f"user:{u.code}", "tablet", u.id, u.role)


# --- applied, duplicate, changed ------------------------------------------------------------------

async def test_a_receive_applies_under_a_key_derived_from_its_txn_id():
    await stocked(0)
    receiver, hh = await user("receiver"), Handheld()
    scan = hh.scan(receiver, "receive", sku="MUG", qty=7, to_location=B1, damaged=2)
    [result] = await hh.send(scan, relay=receiver)
    assert (result.status, result.reason, result.server_seq is not None) == ("applied", "", True)
    assert (await on_hand("MUG", B1), await on_hand("MUG", B1, "damaged")) == (7, 2)
    keys = {r["command_key"] for r in await db.fetch("SELECT command_key FROM movements")}
    assert keys == {f"sync:{scan['txn_id']}:good", f"sync:{scan['txn_id']}:damaged"}


async def test_a_repeated_txn_returns_the_stored_result_and_posts_nothing():
    await stocked()
    picker, hh = await user("picker"), Handheld()
    scan = hh.scan(picker, "move", sku="MUG", qty=2, from_location=B1, to_location=B2)
    [first] = await hh.send(scan, relay=picker)
    movements = await table_count("movements")
    again = await hh.send(scan, scan, relay=picker)  # the response was lost: the client sends it again, twice
    assert [(r.status, r.server_seq, r.original_status) for r in again] == [
        ("duplicate", first.server_seq, "applied")] * 2
    assert await table_count("movements") == movements
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2)) == (3, 2)


async def test_the_same_txn_id_with_changed_content_is_refused_and_nothing_changes():
    await stocked()
    picker, hh = await user("picker"), Handheld()
    scan = hh.scan(picker, "move", sku="MUG", qty=2, from_location=B1, to_location=B2)
    await hh.send(scan, relay=picker)
    later = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B3)
    changed = {**scan, "payload": {**scan["payload"], "qty": 3}}
    before = (await table_count("movements"), await table_count("sync_inbox"))
    with pytest.raises(errors.IdempotencyConflict, match="different details"):
        await hh.send(later, changed, relay=picker)
    assert (await table_count("movements"), await table_count("sync_inbox")) == before
    assert await on_hand("MUG", B3) == 0


async def test_a_lost_inbox_row_still_cannot_post_twice():
    await stocked()
    picker, hh = await user("picker"), Handheld()
    scan = hh.scan(picker, "move", sku="MUG", qty=2, from_location=B1, to_location=B2)
    await hh.send(scan, relay=picker)
    await db.fetch("DELETE FROM sync_inbox WHERE txn_id = {}", scan["txn_id"])  # e.g. a bad restore
    [result] = await hh.send(scan, relay=picker)
    assert result.status == "applied"
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2), await table_count("movements")) == (3, 2, 2)


# --- conflicts: physical scans are facts ----------------------------------------------------------

async def test_two_devices_take_the_last_unit_one_applies_one_needs_review_with_found_stock():
    await stocked(1)
    ana, bob = await user("picker"), await user("picker")
    hh1, hh2 = Handheld(), Handheld()
    first = hh1.scan(ana, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    second = hh2.scan(bob, "move", sku="MUG", qty=1, from_location=B1, to_location=B3)
    [applied] = await hh1.send(first, relay=ana)
    [review_me] = await hh2.send(second, relay=bob)
    assert applied.status == "applied"
    assert review_me.status == "needs_review" and "found stock" in review_me.reason
    assert [await on_hand("MUG", b) for b in (B1, B2, B3)] == [0, 1, 1]
    found = await db.fetch("SELECT qty, reason, actor FROM movements WHERE reason = 'offline_conflict'")
    assert found == [{"qty": 1, "reason": "offline_conflict", "actor": "system:offline_sync"}]
    [task] = await counts.open_count_tasks()
    assert (task.bin, task.reason, task.status) == (B1, "exception", "open")
    [exc] = await scan_exceptions.open_exceptions()
    assert (exc.txn_id, exc.location, exc.sku, exc.shortfall, exc.count_task_id) == (
        second["txn_id"], B1, "MUG", 1, task.id)
    assert len(exc.adjustment_movement_ids) == 1


async def test_a_move_of_stock_picked_offline_elsewhere_posts_found_stock_and_keeps_the_pick():
    await stocked(1)
    lead, picker, mover = Actor("lead", "tab", None, "lead"), await user("picker"), await user("receiver")
    await f.create_manual_order(f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", 1)]),
                                key=key(), actor=lead)
    [line] = (await f.create_pick_list("SO-1", key=key(), actor=lead)).lines
    hh1, hh2 = Handheld(), Handheld()
    moved = hh2.scan(mover, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    picked = hh1.scan(picker, "pick", pick_list_id=line.pick_list_id, line_id=line.id, bin=B1, item_code="MUG", qty=1)
    assert [r.status for r in await hh1.send(picked, relay=picker)] == ["applied"]
    assert [r.status for r in await hh2.send(moved, relay=mover)] == ["needs_review"]
    assert (await on_hand("MUG", B1), await on_hand("MUG", B2), await on_hand("MUG", "WH1-STAGE")) == (0, 1, 1)
    assert await table_count("count_tasks", "reason = 'exception'") == 1


async def test_the_same_pick_line_picked_on_two_devices_waits_for_a_manager_and_posts_nothing():
    await stocked(2)
    lead, ana, bob = Actor("lead", "tab", None, "lead"), await user("picker"), await user("picker")
    await f.create_manual_order(f.NewManualOrder(order_ref="SO-1", lines=[f.OrderLineSpec("MUG", 1)]),
                                key=key(), actor=lead)
    [line] = (await f.create_pick_list("SO-1", key=key(), actor=lead)).lines
    scans = [Handheld().scan(who, "pick", pick_list_id=line.pick_list_id, line_id=line.id, bin=B1, item_code="MUG",
                             qty=1) for who in (ana, bob)]
    assert (await Handheld(scans[0]["device_id"]).send(scans[0], relay=ana))[0].status == "applied"
    movements = await table_count("movements")
    [second] = await Handheld(scans[1]["device_id"]).send(scans[1], relay=bob)
    assert second.status == "needs_review" and "already picked" in second.reason
    assert await table_count("movements") == movements
    [exc] = await scan_exceptions.open_exceptions()
    assert (exc.kind, exc.location, exc.shortfall, exc.count_task_id) == ("pick", B1, 0, None)


async def test_a_manager_resolves_an_exception_once_but_not_their_own_scan():
    await stocked(0)
    manager, other, picker = await user("manager"), await user("manager"), await user("picker")
    hh = Handheld()
    results = await hh.send(hh.scan(manager, "move", sku="MUG", qty=1, from_location=B1, to_location=B2),
                            relay=manager)
    assert [r.status for r in results] == ["needs_review"]
    [exc] = await scan_exceptions.open_exceptions()
    with pytest.raises(errors.NotPermitted):
        await scan_exceptions.resolve_exception(exc.id, key(), actor_of(picker))
    with pytest.raises(errors.SegregationOfDuties):
        await scan_exceptions.resolve_exception(exc.id, key(), actor_of(manager))
    resolve_key = key()
    done = await scan_exceptions.resolve_exception(exc.id, resolve_key, actor_of(other), note="count confirmed 1")
    assert (done.status, done.resolved_by) == ("resolved", f"user:{other.code}")
    again = await scan_exceptions.resolve_exception(exc.id, resolve_key, actor_of(other), note="count confirmed 1")
    assert again == done
    with pytest.raises(errors.Conflict, match="already resolved"):
        await scan_exceptions.resolve_exception(exc.id, key(), actor_of(other))
    assert await scan_exceptions.open_exceptions() == []


# --- concurrency ---------------------------------------------------------------------------------

async def test_two_tabs_draining_the_same_outbox_at_once_apply_each_scan_once():
    await stocked(5)
    picker, hh = await user("picker"), Handheld()
    scans = [hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2) for _ in range(5)]
    tab1, tab2 = await asyncio.gather(hh.send(*scans, relay=picker), hh.send(*scans, relay=picker))
    assert [sorted([a.status, b.status]) for a, b in zip(tab1, tab2, strict=True)] == [["applied", "duplicate"]] * 5
    assert (await on_hand("MUG", B2), await table_count("movements"), await table_count("sync_gaps")) == (5, 6, 0)


async def test_two_devices_taking_the_last_unit_at_the_same_moment_never_go_negative():
    await stocked(1)
    ana, bob = await user("picker"), await user("picker")
    hh1, hh2 = Handheld(), Handheld()
    results = await asyncio.gather(
        hh1.send(hh1.scan(ana, "move", sku="MUG", qty=1, from_location=B1, to_location=B2), relay=ana),
        hh2.send(hh2.scan(bob, "move", sku="MUG", qty=1, from_location=B1, to_location=B3), relay=bob),
    )
    assert sorted(r.status for [r] in results) == ["applied", "needs_review"]
    assert [await on_hand("MUG", b) for b in (B1, B2, B3)] == [0, 1, 1]


# --- seq order and gaps ----------------------------------------------------------------------------

async def test_a_seq_gap_is_recorded_later_scans_still_apply_and_late_scans_close_it():
    await stocked()
    picker, hh = await user("picker"), Handheld()
    s1, s2, s3, s4 = (hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2) for _ in range(4))
    await hh.send(s1, relay=picker)
    assert [r.status for r in await hh.send(s4, relay=picker, pending=2)] == ["applied"]
    [gap] = await inbox.open_gaps()
    assert (gap.device_id, gap.missing_from, gap.missing_to) == (hh.device_id, 2, 3)
    [device] = await inbox.devices_overview()
    assert (device.highest_seq, device.open_gaps, device.pending_reported, device.last_user) == (
        4, 1, 2, picker.code)
    await hh.send(s2, relay=picker)
    assert len(await inbox.open_gaps()) == 1
    await hh.send(s3, relay=picker)
    assert await inbox.open_gaps() == []
    assert await on_hand("MUG", B2) == 4


async def test_a_batch_is_applied_in_seq_order_whatever_order_it_arrives_in():
    await stocked(0)
    receiver, hh = await user("receiver"), Handheld()
    scans = [hh.scan(receiver, "receive", sku="MUG", qty=1, to_location=B1)]
    for src, dst in [(B1, B2), (B2, B3), (B3, B1), (B1, B3)]:
        scans.append(hh.scan(receiver, "move", sku="MUG", qty=1, from_location=src, to_location=dst))
    results = await hh.send(*reversed(scans), relay=receiver)
    assert [r.txn_id for r in results] == [s["txn_id"] for s in scans]
    assert {r.status for r in results} == {"applied"} and await on_hand("MUG", B3) == 1


async def test_a_thousand_queued_scans_drain_in_order():
    await stocked(0)
    receiver, hh = await user("receiver"), Handheld()
    scans = [hh.scan(receiver, "receive", sku="MUG", qty=1, to_location=B1)]
    ring = [B1, B2, B3]
    for n in range(999):  # each move takes the unit the previous one put down: out of order, it would conflict
        scans.append(hh.scan(receiver, "move", sku="MUG", qty=1, from_location=ring[n % 3],
                             to_location=ring[(n + 1) % 3]))
    rng, results = random.Random(7), []
    for start in range(0, len(scans), SYNC_BATCH_MAX):
        batch = scans[start:start + SYNC_BATCH_MAX]
        rng.shuffle(batch)
        results += await hh.send(*batch, relay=receiver, pending=len(scans) - start)
    assert [r.status for r in results] == ["applied"] * 1000
    assert [r.server_seq for r in results] == sorted(r.server_seq for r in results)
    assert await table_count("sync_gaps") == 0 and await on_hand("MUG", ring[999 % 3]) == 1


# --- rejected: unauthorized and malformed ----------------------------------------------------------

async def test_a_role_without_the_permission_is_rejected_and_the_rejection_is_final():
    await stocked()
    counter, picker, hh = await user("counter"), await user("picker"), await Handheld.enrolled()
    await hh.signed_in(counter)
    scan = hh.scan(counter, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    ghost = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2)
    ghost["user_id"] = 999_999
    results = by_txn(await hh.send(scan, ghost, relay=picker))
    assert results[scan["txn_id"]].status == "rejected" and "may not move stock" in results[scan["txn_id"]].reason
    refused = results[ghost["txn_id"]]
    assert refused.status == "rejected" and "has not signed in on this scanner" in refused.reason
    [again] = await hh.send(scan, relay=picker)
    assert (again.status, again.original_status) == ("duplicate", "rejected")
    assert await on_hand("MUG", B2) == 0


async def test_malformed_envelopes_are_rejected_with_a_reason_and_the_rest_of_the_batch_applies():
    await stocked()
    picker, hh = await user("picker"), Handheld()
    bad_qty = hh.scan(picker, "move", sku="MUG", qty="2", from_location=B1, to_location=B2)
    missing = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1)
    unknown_kind = hh.scan(picker, "teleport", sku="MUG")
    no_id = {**hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B2), "txn_id": "42"}
    good = hh.scan(picker, "move", sku="MUG", qty=1, from_location=B1, to_location=B3)
    results = await hh.send(bad_qty, missing, unknown_kind, no_id, good, relay=picker)
    reasons = {r.txn_id: (r.status, r.reason) for r in results}
    assert reasons[bad_qty["txn_id"]] == (
        "rejected", "This move scan has an invalid quantity: it must be a number, not a string. Redo the scan.")
    assert reasons[missing["txn_id"]] == ("rejected", "This move scan is missing the destination bin. Redo the scan.")
    assert reasons[unknown_kind["txn_id"]][0] == "rejected" and "kind of scan" in reasons[unknown_kind["txn_id"]][1]
    assert reasons["42"][0] == "rejected" and "scan id" in reasons["42"][1]
    assert reasons[good["txn_id"]] == ("applied", "")
    assert await table_count("sync_inbox", "status = 'rejected'") == 3  # no id: answered, not stored
    assert (await on_hand("MUG", B2), await on_hand("MUG", B3)) == (0, 1)


async def test_a_scan_naming_something_unknown_is_rejected_with_the_domain_message():
    await stocked()
    lead, hh = await user("lead"), Handheld()
    results = await hh.send(hh.scan(lead, "move", sku="NOPE", qty=1, from_location=B1, to_location=B2),
                            hh.scan(lead, "adjust", sku="MUG", location=B1, delta=1, reason="offline_conflict"),
                            relay=lead)
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert "No item with SKU 'NOPE'" in results[0].reason and "offline_conflict" not in MANUAL_REASONS


# --- the other kinds --------------------------------------------------------------------------------

async def test_count_and_adjust_scans_go_through_the_counts_domain():
    await stocked(5)
    counter, lead, hh = await user("counter"), await user("lead"), await Handheld.enrolled()
    task = await counts.create_count_task(B2, key(), actor_of(lead))
    await counts.start_count(task.task_id, key(), actor_of(counter))
    await hh.signed_in(counter)
    results = await hh.send(hh.scan(counter, "count", task_id=task.task_id, item_code="MUG", qty=0, mode="set"),
                            hh.scan(lead, "adjust", sku="MUG", location=B1, delta=-2, reason="damaged"),
                            hh.scan(lead, "adjust", sku="MUG", location=B1, delta=-3, reason="lost"),
                            relay=lead)
    assert [(r.status, r.reason) for r in results] == [("applied", "")] * 3
    assert (await counts.counter_view(task.task_id)).lines[0].counted == 0
    assert await on_hand("MUG", B1) == 0


async def test_a_scan_by_someone_who_never_signed_in_on_the_device_is_not_relayed_in_their_name():
    await stocked()
    manager, picker, hh = await user("manager"), await user("picker"), await Handheld.enrolled()
    adjust = hh.scan(manager, "adjust", sku="MUG", location=B1, delta=-1, reason="damaged")
    [refused] = await hh.send(adjust, relay=picker)
    assert refused.status == "rejected" and "has not signed in on this scanner" in refused.reason
    await (await Handheld.enrolled()).signed_in(manager)  # signing in on another scanner does not vouch for this one
    later = hh.scan(manager, "adjust", sku="MUG", location=B1, delta=-1, reason="damaged")
    assert (await hh.send(later, relay=picker))[0].status == "rejected"
    await hh.signed_in(manager)
    again = hh.scan(manager, "adjust", sku="MUG", location=B1, delta=-1, reason="damaged")
    assert (await hh.send(again, relay=picker))[0].status == "applied"
    assert await on_hand("MUG", B1) == 4


async def test_a_finished_count_is_applied_after_the_counted_items_sent_before_it():
    await stocked(5)
    counter, lead, hh = await user("counter"), await user("lead"), Handheld()
    task = await counts.create_count_task(B1, key(), actor_of(lead))
    await counts.start_count(task.task_id, key(), actor_of(counter))
    counted = hh.scan(counter, "count", task_id=task.task_id, item_code="MUG", qty=4, mode="set")
    finish = hh.scan(counter, "count_finish", task_id=task.task_id)
    results = await hh.send(finish, counted, relay=counter)  # any order in the batch: seq decides
    assert [(r.status, r.reason) for r in results] == [("applied", "")] * 2
    assert await on_hand("MUG", B1) == 4
    [again] = await hh.send(finish, relay=counter)
    assert again.status == "duplicate" and await on_hand("MUG", B1) == 4
