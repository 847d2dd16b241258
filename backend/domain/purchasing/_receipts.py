"""Receipts against a purchase order: the two calls the receiving code makes around its postings.

`check_po_receipt(doc_ref, sku, qty, to_location)` runs first, inside the receipt's transaction: when
the doc_ref is a PO number it locks the order, refuses what the order does not expect (an item not on
it, a draft, cancelled or closed order, a bin in another warehouse) and returns the number to post
with (the order's own spelling). `settle_po_receipt(number, actor)` runs after the postings, in the
same transaction, and moves the order to partially_received or received from what the ledger now
says arrived. Both the online receive screen and a receipt replayed from a handheld's outbox reach
them through `receiving.receipts.post_receipt`, so the status holds on either path.
`settle_after_reversal(doc_ref, actor)` runs in the transaction of every ledger reversal
(`commands.after_reversal`): a reversed receipt against an order moves it back to partially_received or
sent when what the ledger now says arrived is less.

Refusals are Conflicts: the online screen shows the message before anything is sent; on the offline
replay path the scan is kept for a manager (needs_review) instead of being rejected, because the
goods are already on the shelf.
"""

from __future__ import annotations

import re

import msgspec

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import get_item
from backend.domain.errors import Conflict
from backend.domain.locations.service import get_location
from backend.domain.purchasing._received import line_receipts
from backend.domain.purchasing._status import (
    RECEIVABLE,
    TRANSITIONS,
    PoEvent,
    PoStatus,
    status_words,
    transition,
)

_PO_NUMBER = re.compile(r"^PO-\d{1,18}$", re.IGNORECASE)


class PurchaseOrderMismatch(Conflict):
    """A receipt its purchase order does not expect."""

    code = "purchase_order_mismatch"


def po_number_of(doc_ref: str) -> str | None:
    """The purchase order number a doc_ref names (any case, spaces around), or None for a delivery note."""
    cleaned = doc_ref.strip()
    return cleaned.upper() if _PO_NUMBER.match(cleaned) else None


class _Order(msgspec.Struct, frozen=True):
    id: int
    number: str
    status: PoStatus
    warehouse_id: int


async def _order(number: str, *, lock: bool) -> _Order | None:
    # Locked on PostgreSQL: two receipts against one order settle one after the other, so the second
    # sees the first's movements (SQLite's BEGIN IMMEDIATE already serializes writers).
    suffix = " FOR UPDATE" if lock and db.is_postgres() else ""
    rows = await db.fetch(f"SELECT id, number, status, warehouse_id FROM purchase_orders WHERE number = {{}}{suffix}",
                          number)
    return msgspec.convert(rows[0], _Order, strict=False) if rows else None


async def check_po_receipt(doc_ref: str, sku: str, qty: int, to_location: str) -> str:
    """The doc_ref to post a receipt with; refuses (PurchaseOrderMismatch) a receipt the order does not
    expect. A doc_ref that is no PO number (a delivery note) passes unchanged."""
    assert db.engine().transaction_exists(), "checked in the receipt's own transaction"
    assert qty > 0
    number = po_number_of(doc_ref)
    if number is None:
        return doc_ref
    po = await _order(number, lock=True)
    if po is None:
        raise PurchaseOrderMismatch(f"No purchase order {number}. Check the number on the delivery note.")
    if po.status not in RECEIVABLE:
        why = "has not been sent to the supplier yet" if po.status == "draft" else f"is {status_words(po.status)}"
        raise PurchaseOrderMismatch(f"{number} {why}: nothing can be received against it. Ask a manager.")
    item = await get_item(sku)
    if not any(line.item_id == item.id for line in (await line_receipts([po.id]))[po.id]):
        raise PurchaseOrderMismatch(f"{item.sku} is not on {number}. Put it aside and tell a manager, or receive "
                                    "it without the PO number.")
    loc = await get_location(to_location)
    if po.warehouse_id not in (loc.id, loc.warehouse_id):
        raise PurchaseOrderMismatch(f"{number} is delivered to another warehouse than {loc.code}. Receive it there.")
    return number


async def settle_po_receipt(number: str, actor: Actor) -> PoStatus:
    """After a receipt against `number` posted: partially_received or received, from the ledger."""
    po = await _order(number, lock=False)
    assert po is not None, "check_po_receipt found this order in the same transaction"
    lines = (await line_receipts([po.id]))[po.id]
    complete = all(line.received >= line.qty_ordered for line in lines)
    if po.status == "sent":
        return await transition(po.id, number, po.status, "receive_all" if complete else "receive_part", actor=actor)
    if po.status == "partially_received" and complete:
        return await transition(po.id, number, po.status, "receive_all", actor=actor)
    assert po.status in RECEIVABLE, po.status
    return po.status


def concerns_an_order(reason: str, doc_ref: str) -> bool:
    """A receipt against a purchase order: its reversal may move the order back."""
    return reason == "receipt" and po_number_of(doc_ref) is not None


async def settle_after_reversal(doc_ref: str, actor: str) -> None:
    """A reversed receipt against the purchase order `doc_ref` names: the order's status follows what the
    ledger now says arrived (received → partially_received or sent, partially_received → sent; the
    transitions _status.py allows). A closed order stays closed."""
    po = await _order(po_number_of(doc_ref) or "", lock=True)
    if po is None:
        return
    lines = (await line_receipts([po.id]))[po.id]
    if all(line.received >= line.qty_ordered for line in lines):
        return
    event: PoEvent = "unreceive_part" if any(line.received > 0 for line in lines) else "unreceive_all"
    if (po.status, event) in TRANSITIONS:
        await transition(po.id, po.number, po.status, event, actor=Actor(actor))
