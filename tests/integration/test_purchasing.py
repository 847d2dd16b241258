"""Purchase orders: the lifecycle and its refusals, idempotent retries, and what arrived read from the
ledger — on order, lead times, status moved by receipts (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from backend import db
from backend.domain import errors
from backend.domain import purchasing as p
from backend.domain.catalog.service import get_item
from backend.domain.ledger import commands as c
from backend.domain.locations.service import get_location
from tests.factories import item, key, warehouse
from tests.purchasing_support import MANAGER, draft, receive_against, sent, supplier

pytestmark = pytest.mark.usefixtures("ledger_db")


async def _setup() -> tuple[int, list[str]]:
    bins = await warehouse()
    await item("MUG")
    await item("CUP")
    return await supplier(), bins


async def test_a_sent_order_moves_to_partially_received_then_received_by_receipts(backend: str) -> None:
    sup, bins = await _setup()
    po = await sent(sup, "WH1", {"MUG": 10, "CUP": 4})
    assert po.status == "sent"
    assert po.number == p.po_number(po.id)
    assert po.expected_at is not None and po.sent_at is not None
    assert (po.expected_at - po.sent_at).days == 7  # the supplier's lead time
    await receive_against(po.number.lower(), "MUG", 6, bins[0])  # typed in lower case: same order
    got = await p.get_order(po.id)
    assert got.status == "partially_received"
    assert [(line.sku, line.qty_received, line.qty_open) for line in got.lines] == [("MUG", 6, 4), ("CUP", 0, 4)]
    await receive_against(po.number, "MUG", 4, bins[0], damaged=1)
    await receive_against(po.number, "CUP", 4, bins[1])
    done = await p.get_order(po.id)
    assert done.status == "received"
    assert (done.qty_ordered, done.qty_received, done.qty_open) == (14, 14, 0)
    closed = await p.close_order(po.id, actor=MANAGER, key=key())
    assert closed.status == "closed" and closed.closed_at is not None


async def test_received_is_the_ledger_and_a_reversal_takes_it_back() -> None:
    sup, bins = await _setup()
    po = await sent(sup, "WH1", {"MUG": 10})
    [movement] = await receive_against(po.number, "MUG", 3, bins[0])
    rows = await db.fetch("SELECT doc_ref FROM movements WHERE id = {}", movement)
    assert rows[0]["doc_ref"] == po.number
    assert (await p.get_order(po.id)).status == "partially_received"
    await c.execute(c.Reverse(movement_id=movement, reason="wrong item"), key=key(), actor="manager-1")
    back = await p.get_order(po.id)
    assert back.lines[0].qty_received == 0 and back.status == "sent"  # nothing arrived after all
    # A receipt with another doc_ref (a delivery note) is not this order's.
    await c.execute(c.Receive(sku="MUG", qty=2, to_location=bins[0], doc_ref="DN-77"), key=key(), actor="t")
    assert (await p.get_order(po.id)).lines[0].qty_received == 0


async def test_invalid_transitions_are_refused_and_change_nothing() -> None:
    sup, bins = await _setup()
    po_id = await draft(sup, "WH1", {"MUG": 5})
    with pytest.raises(errors.IllegalTransition, match="draft: it cannot be closed"):
        await p.close_order(po_id, actor=MANAGER, key=key())
    cancelled = await p.cancel_order(po_id, actor=MANAGER, key=key(), reason="ordered by phone")
    assert cancelled.status == "cancelled" and "ordered by phone" in cancelled.note
    for command in (p.send_order, p.cancel_order, p.close_order):
        with pytest.raises(errors.IllegalTransition, match="is cancelled"):
            await command(po_id, actor=MANAGER, key=key())
    assert (await p.get_order(po_id)).status == "cancelled"
    # Once anything arrived an order is closed, not cancelled.
    po = await sent(sup, "WH1", {"MUG": 5})
    await receive_against(po.number, "MUG", 1, bins[0])
    with pytest.raises(errors.IllegalTransition, match="partially received: it cannot be cancelled"):
        await p.cancel_order(po.id, actor=MANAGER, key=key())
    closed = await p.close_order(po.id, actor=MANAGER, key=key())
    assert "4 unit(s) never arrived" in closed.note


async def test_receipts_the_order_does_not_expect_are_refused_and_post_nothing() -> None:
    sup, bins = await _setup()
    await item("TEA")
    po = await sent(sup, "WH1", {"MUG": 5})
    with pytest.raises(p.PurchaseOrderMismatch, match=f"TEA is not on {po.number}"):
        await receive_against(po.number, "TEA", 1, bins[0])
    other = await warehouse("WH2", bins=1)
    with pytest.raises(p.PurchaseOrderMismatch, match="another warehouse"):
        await receive_against(po.number, "MUG", 1, other[0])
    drafted = await draft(sup, "WH1", {"MUG": 5})
    with pytest.raises(p.PurchaseOrderMismatch, match="has not been sent"):
        await receive_against(p.po_number(drafted), "MUG", 1, bins[0])
    with pytest.raises(p.PurchaseOrderMismatch, match="No purchase order PO-999999"):
        await receive_against("PO-999999", "MUG", 1, bins[0])
    assert (await db.fetch("SELECT COUNT(*) AS n FROM movements"))[0]["n"] == 0
    assert (await p.get_order(po.id)).status == "sent"


async def test_retries_with_the_same_key_do_nothing_twice() -> None:
    sup, _ = await _setup()
    wh = await get_location("WH1")
    mug = await get_item("MUG")
    order = p.DraftOrder(supplier_id=sup, warehouse_id=wh.id, lines=[p.DraftLine(item_id=mug.id, qty=3),
                                                                     p.DraftLine(item_id=mug.id, qty=2)])
    first = await p.create_draft_orders([order], actor=MANAGER, key="approve-1")
    again = await p.create_draft_orders([order], actor=MANAGER, key="approve-1")
    assert first == again
    assert (await db.fetch("SELECT COUNT(*) AS n FROM purchase_orders"))[0]["n"] == 1
    assert [line.qty_ordered for line in (await p.get_order(first[0])).lines] == [5]  # one line per item
    with pytest.raises(errors.IdempotencyConflict):
        await p.create_draft_orders([order, order], actor=MANAGER, key="approve-1")
    sent_once = await p.send_order(first[0], actor=MANAGER, key="send-1")
    sent_twice = await p.send_order(first[0], actor=MANAGER, key="send-1")  # not IllegalTransition
    assert sent_once.sent_at == sent_twice.sent_at
    audits = await db.fetch("SELECT action FROM audit_log WHERE entity = 'purchase_order' ORDER BY id")
    assert [a["action"] for a in audits] == ["purchase_order.draft", "purchase_order.send"]


async def test_on_order_counts_what_is_still_to_arrive_on_open_orders() -> None:
    sup, bins = await _setup()
    await warehouse("WH2", bins=1)
    mug, cup = (await get_item("MUG")).id, (await get_item("CUP")).id
    wh1, wh2 = (await get_location("WH1")).id, (await get_location("WH2")).id
    po = await sent(sup, "WH1", {"MUG": 10, "CUP": 3})
    await sent(sup, "WH2", {"MUG": 7})
    await draft(sup, "WH1", {"MUG": 100})  # a draft is not on order
    await receive_against(po.number, "MUG", 4, bins[0])
    await receive_against(po.number, "CUP", 5, bins[0])  # over-received: nothing more expected, never negative
    assert await p.on_order() == {(mug, wh1): 6, (mug, wh2): 7}
    assert await p.on_order(wh2) == {(mug, wh2): 7}
    await p.close_order(po.id, actor=MANAGER, key=key())
    assert await p.on_order() == {(mug, wh2): 7}
    assert cup not in {i for i, _ in await p.on_order()}


async def test_lead_time_observations_are_first_receipt_minus_sent_day() -> None:
    sup, bins = await _setup()
    po = await sent(sup, "WH1", {"MUG": 10, "CUP": 2})
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    await db.run_in_transaction(lambda: db.fetch("UPDATE purchase_orders SET sent_at = {} WHERE id = {}",
                                                 ten_days_ago, po.id))
    await receive_against(po.number, "MUG", 4, bins[0])
    await receive_against(po.number, "MUG", 6, bins[0])
    observed = await p.lead_time_observations(supplier_id=sup)
    assert [(o.item_id, o.days, o.number) for o in observed] == [((await get_item("MUG")).id, 10, po.number)]
    assert observed[0].sent_on == ten_days_ago.date()
    assert await p.lead_time_observations(supplier_id=sup, since=datetime.now(UTC)) == []
    assert await p.lead_time_observations(item_ids=[(await get_item("CUP")).id]) == []


async def test_suppliers_and_their_items_with_one_preferred_supplier_per_item() -> None:
    acme = await supplier("acme", moq=12, case_pack=6)
    await item("MUG")
    other = await supplier("OTHER")
    assert (await p.get_supplier(acme)).code == "ACME"
    with pytest.raises(errors.AlreadyExists):
        await supplier("Acme")
    link = await p.link_supplier_item(acme, p.SupplierItemSpec(sku="MUG", unit_cost_minor=250, case_pack=24,
                                                                preferred=True), actor=MANAGER, key=key())
    assert (link.moq, link.case_pack, link.moq_override, link.case_pack_override) == (12, 24, None, 24)
    await p.link_supplier_item(other, p.SupplierItemSpec(sku="MUG", unit_cost_minor=200, preferred=True),
                               actor=MANAGER, key=key())
    preferred = await p.supplier_items(preferred_only=True)
    assert [(s.supplier_code, s.unit_cost_minor) for s in preferred] == [("OTHER", 200)]
    changed = await p.update_supplier(acme, p.SupplierSpec(name="Acme GmbH", currency="USD", lead_time_days=3),
                                      actor=MANAGER, key=key())
    assert (changed.name, changed.currency, changed.lead_time_days, changed.moq) == ("Acme GmbH", "USD", 3, 1)
    with pytest.raises(errors.InvalidInput, match="currency"):
        await p.update_supplier(acme, p.SupplierSpec(name="Acme", currency="euro"), actor=MANAGER, key=key())
    # A draft takes the supplier's price for the item when the line names none.
    po_id = await draft(other, "WH1", {"MUG": 3}) if await warehouse() else 0
    assert (await p.get_order(po_id)).lines[0].unit_cost_minor == 200


async def test_receipts_at_once_complete_the_order_between_them() -> None:
    """Each receipt alone leaves the order partially received; together they complete it, whichever
    settles last sees the others' movements (PostgreSQL: the order row is locked by the check, so a
    second status change never meets a status changed under it)."""
    bins = await warehouse()
    sup = await supplier()
    skus = [f"ITEM{n}" for n in range(6)]
    for sku in skus:
        await item(sku)
    po = await sent(sup, "WH1", dict.fromkeys(skus, 5))
    await asyncio.gather(*(receive_against(po.number, sku, 5, bins[n % len(bins)]) for n, sku in enumerate(skus)))
    assert (await p.get_order(po.id)).status == "received"


async def test_reversing_a_receipt_moves_the_order_back_by_what_the_ledger_says_arrived(backend: str) -> None:
    sup, bins = await _setup()
    po = await sent(sup, "WH1", {"MUG": 4, "CUP": 2})
    [mug] = await receive_against(po.number, "MUG", 4, bins[0])
    [cup] = await receive_against(po.number, "CUP", 2, bins[0])
    assert (await p.get_order(po.id)).status == "received"
    reverse_key = key()
    await c.execute(c.Reverse(movement_id=cup, reason="counted twice"), key=reverse_key, actor="manager-1")
    assert (await p.get_order(po.id)).status == "partially_received"
    await c.execute(c.Reverse(movement_id=cup, reason="counted twice"), key=reverse_key, actor="manager-1")
    assert (await p.get_order(po.id)).status == "partially_received"  # a replay changes nothing more
    await c.execute(c.Reverse(movement_id=mug, reason="wrong supplier"), key=key(), actor="manager-1")
    back = await p.get_order(po.id)
    assert back.status == "sent" and back.sent_at == po.sent_at  # still sent the day it was sent
    audits = await db.fetch("SELECT action, actor FROM audit_log WHERE entity = 'purchase_order'"
                            " AND action LIKE 'purchase_order.unreceive%' ORDER BY id")
    assert [(a["action"], a["actor"]) for a in audits] == [
        ("purchase_order.unreceive_part", "manager-1"), ("purchase_order.unreceive_all", "manager-1")]
    # Received again, then closed: a closed order stays closed whatever is reversed.
    [again] = await receive_against(po.number, "MUG", 1, bins[0])
    await p.close_order(po.id, actor=MANAGER, key=key())
    await c.execute(c.Reverse(movement_id=again, reason="wrong bin"), key=key(), actor="manager-1")
    assert (await p.get_order(po.id)).status == "closed"
    # Reversing a movement that is no receipt against an order changes no order.
    await c.execute(c.Reverse(movement_id=(await c.execute(c.Receive(sku="CUP", qty=1, to_location=bins[0],
                                                                      doc_ref="DN-1"), key=key(), actor="t"))
                              .movement_ids[0], reason="test"), key=key(), actor="t")
    assert (await p.get_order(po.id)).status == "closed"
