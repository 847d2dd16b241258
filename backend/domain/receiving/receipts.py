"""A receipt: the units of one delivery scanned into one bin, some of them perhaps damaged.

A receipt is one action for the person who scans it, so it claims one idempotency key for the
whole receipt; the good and the damaged units post as ledger commands under keys derived from it
and commit together or not at all. A retry of the same receipt returns the first result; the
same key with another receipt is IdempotencyConflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import msgspec

from backend.domain.auth.audit import Actor
from backend.domain.errors import InvalidInput, InvalidQuantity
from backend.domain.idempotency import derived_key, run_once, stored_as
from backend.domain.ledger import commands as ledger
from backend.domain.ledger.audited import execute_as
from backend.domain.purchasing import check_po_receipt, po_number_of, settle_po_receipt


class Receipt(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    sku: str
    qty: int  # every unit received, in base units; `damaged` of them arrived damaged
    to_location: str
    damaged: int = 0
    lot: str = ""
    expiry: date | None = None
    doc_ref: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptResult:
    movement_ids: list[int]
    replayed: bool = False


async def post_receipt(receipt: Receipt, *, key: str, actor: Actor) -> ReceiptResult:
    if receipt.qty <= 0:
        raise InvalidQuantity("Receive at least 1 unit.")
    if not 0 <= receipt.damaged <= receipt.qty:
        raise InvalidInput(f"Damaged units ({receipt.damaged}) must be between 0 and the {receipt.qty} received.")

    def line(qty: int, state: ledger.State, doc_ref: str) -> ledger.Receive:
        return ledger.Receive(sku=receipt.sku, qty=qty, to_location=receipt.to_location, lot=receipt.lot,
                              expiry=receipt.expiry, doc_ref=doc_ref, state=state)

    async def work() -> ReceiptResult:
        # Against a purchase order: refused if the order does not expect it, its status moved after.
        doc_ref = await check_po_receipt(receipt.doc_ref, receipt.sku, receipt.qty, receipt.to_location)
        ids: list[int] = []
        for qty, state in ((receipt.qty - receipt.damaged, "good"), (receipt.damaged, "damaged")):
            if qty:
                command = line(qty, "damaged" if state == "damaged" else "available", doc_ref)
                ids += (await execute_as(command, key=derived_key(key, state), actor=actor)).movement_ids
        if po_number_of(doc_ref) is not None:
            await settle_po_receipt(doc_ref, actor)
        return ReceiptResult(ids)

    return await run_once("Receipt", receipt, key=key, actor=actor.label, work=work, replay=stored_as(ReceiptResult))
