"""An online step's check: the validation applying it runs, with reads only.

The floor screens call these before they hand a step to the outbox; nothing is written and no write
transaction is opened (and rolled back). Applying the envelope (sync/kinds.py) interprets the same
step with the same functions and runs the domain command, whose own guards have the last word.
"""

from __future__ import annotations

from backend import db
from backend.domain import counts
from backend.domain.auth.audit import Actor
from backend.domain.errors import Availability, InsufficientStock, InvalidInput
from backend.domain.fulfillment import service as fulfillment
from backend.domain.ledger import commands as ledger
from backend.domain.ledger.posting import ELSEWHERE_MAX
from backend.domain.scans._interpret import (
    Adjustment,
    MovePlan,
    ReceiptPlan,
    adjustment_of,
    move_of,
    receipt_of,
)
from backend.domain.scans._steps import Adjust, Count, FinishCount, Move, Pick, Receive


async def check_receive(step: Receive) -> ReceiptPlan:
    plan = await receipt_of(step)
    r, item = plan.receipt, plan.item
    assert item is not None, "a raw step names its item"
    ledger.check_stock_item(item)
    ledger.base_qty_and_lot(item, r.qty, None, r.lot)
    if not 0 <= r.damaged <= r.qty:
        raise InvalidInput(f"{r.damaged} damaged is more than the {r.qty} {r.sku} received.")
    return plan


async def check_move(step: Move) -> MovePlan:
    """The move as the ledger will post it, refused now if the ledger would refuse it: the item and lot,
    and enough available where it is taken from (the ledger's own words, its numbers as of now)."""
    plan = await move_of(step)
    m, item, src = plan.move, plan.item, plan.source
    assert item is not None and src is not None, "a raw step names its item and bins"
    ledger.check_stock_item(item)
    qty, lot = ledger.base_qty_and_lot(item, m.qty, None, m.lot)
    here, elsewhere = await _available(item.id, src.id, lot)
    if here < qty:
        raise InsufficientStock(item.sku, src.code, qty, here, elsewhere)
    return plan


async def _available(item_id: int, location_id: int, lot: str) -> tuple[int, list[Availability]]:
    """Available at the location (item and lot), and in up to ELSEWHERE_MAX other bins, in one statement."""
    avail = "b.on_hand - b.reserved - b.quarantined - b.damaged"
    rows = await db.fetch(
        f"SELECT 0 AS here, '' AS code, {avail} AS available FROM balances b"
        " WHERE b.item_id = {} AND b.location_id = {} AND b.lot = {}"
        f" UNION ALL SELECT * FROM (SELECT 1, l.code, {avail} FROM balances b JOIN locations l ON l.id = b.location_id"
        f" WHERE b.item_id = {{}} AND b.location_id <> {{}} AND l.kind = 'bin' AND {avail} > 0"
        f" ORDER BY {avail} DESC, l.code LIMIT {{}}) elsewhere",
        item_id, location_id, lot, item_id, location_id, ELSEWHERE_MAX,
    )
    here = sum(int(r["available"]) for r in rows if r["here"] == 0)
    return here, [Availability(r["code"], int(r["available"])) for r in rows if r["here"] == 1]


async def check_pick(step: Pick) -> fulfillment.PickLineView:
    return await fulfillment.check_pick(step.pick_list_id, step.line_id, step.bin, step.item_code, step.qty)


async def check_count(step: Count, actor: Actor) -> tuple[counts.CounterView, counts.CountedLine]:
    return await counts.check_count(step.task_id, step.item_code, step.qty, actor, lot=step.lot, mode=step.mode)


async def check_finish_count(step: FinishCount, actor: Actor) -> None:
    await counts.check_submit(step.task_id, actor)


async def check_adjust(step: Adjust) -> Adjustment:
    a = await adjustment_of(step)
    await counts.check_adjustment(a.sku, a.location, a.delta, a.reason, a.lot)
    return a
