"""The order lifecycle: every transition in the table works and is audited, every other one is refused
and changes nothing, and a status changed meanwhile is never overwritten (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from backend import db
from backend.domain import errors
from backend.domain import orders as o
from backend.domain.auth.audit import Actor
from backend.domain.fulfillment import service as f
from tests.factories import item, key, receive, warehouse

pytestmark = pytest.mark.usefixtures("ledger_db")

MANAGER = Actor("manager-1", device="tablet-1", role="manager")


async def _order() -> int:
    bins = await warehouse()
    await item("MUG")
    await receive("MUG", 5, bins[0])
    placed = await f.create_manual_order(f.NewManualOrder("SO-1", [f.OrderLineSpec("MUG", 1)]), key=key(),
                                         actor=MANAGER)
    return placed.id


async def _force(order_id: int, status: str) -> None:
    await db.fetch("UPDATE orders SET status = {} WHERE id = {}", status, order_id)


async def _audit_rows(order_id: int) -> int:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM audit_log WHERE entity = 'order' AND entity_id = {}",
                             str(order_id))
    return int(row["n"])


async def _run(order_id: int, event: o.Event) -> str:
    return await db.run_in_transaction(lambda: o.transition(order_id, event, actor=MANAGER))


async def test_every_transition_not_in_the_table_is_refused_and_changes_nothing():
    order_id = await _order()
    refused = 0
    for status in o.STATUSES:
        for event in o.EVENTS:
            if (status, event) in o.TRANSITIONS:
                continue
            await _force(order_id, status)
            audit_before = await _audit_rows(order_id)
            with pytest.raises(errors.IllegalTransition) as raised:
                await _run(order_id, event)
            assert (raised.value.status, raised.value.event) == (status, event)
            assert (await o.get_order_detail(order_id)).status == status
            assert await _audit_rows(order_id) == audit_before
            refused += 1
    assert refused == len(o.STATUSES) * len(o.EVENTS) - len(o.TRANSITIONS)


async def test_every_transition_in_the_table_moves_the_order_and_is_audited():
    order_id = await _order()
    for (status, event), target in o.TRANSITIONS.items():
        await _force(order_id, status)
        assert await _run(order_id, event) == target
        [last] = list((await o.get_order_detail(order_id)).timeline)[-1:]
        assert (last.action, last.actor, last.before, last.after) == (f"order.{event}", "manager-1",
                                                                      {"status": status}, {"status": target})


async def test_a_status_changed_meanwhile_is_a_conflict_not_overwritten():
    order_id = await _order()
    await _force(order_id, "released")
    with pytest.raises(errors.Conflict, match="changed while you worked"):
        # The caller read 'reserved', but another request released the order in between.
        await db.run_in_transaction(lambda: o.transition(order_id, "hold", actor=MANAGER, from_status="reserved"))
    assert (await o.get_order_detail(order_id)).status == "released"


async def test_waves_move_many_orders_with_one_audit_row_each():
    order_id = await _order()
    moved = await db.run_in_transaction(lambda: o.transition_many([order_id, 999_999], "pick", "released",
                                                                  actor=MANAGER))
    assert moved == [order_id]
    assert (await o.get_order_detail(order_id)).timeline[-1].action == "order.pick"
    with pytest.raises(errors.IllegalTransition):
        await db.run_in_transaction(lambda: o.transition_many([order_id], "pick", "shipped", actor=MANAGER))
