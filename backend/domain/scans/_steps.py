"""What a handheld step says the worker did: codes as scanned, quantities as typed.

These are the payloads of the handheld's envelopes (sync/envelopes.py), online and offline alike. No
SKU, base-unit quantity, lot or expiry worked out on the handheld travels in them: the server reads
every code when the step is applied (`interpret`), so a scan means the same whether the handheld was
online or not.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec

from backend.domain import bounds
from backend.domain.ledger.commands import DOC_REF_LENGTH_MAX
from backend.domain.quantities import QTY_MAX

CODE_LENGTH_MAX = 200  # a scanned barcode, SKU, bin or lot
ID_MAX = 2**53 - 1  # the largest integer a browser counts exactly
ENTRIES_MAX = 200  # item scans and typed quantities of one receive or move line

# A scanned code may hold GS1's group separator (0x1D), never NUL (bounds.py).
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=CODE_LENGTH_MAX, pattern=bounds.NO_NUL)]
DocRef = Annotated[str, msgspec.Meta(max_length=DOC_REF_LENGTH_MAX, pattern=bounds.ONE_LINE)]  # delivery note, PO
Lot = bounds.Lot
Qty = Annotated[int, msgspec.Meta(ge=1, le=QTY_MAX)]
Id = Annotated[int, msgspec.Meta(ge=1, le=ID_MAX)]
# One entry of a line: an item code as scanned (it adds what it stands for: a case, a GS1 count...), or
# a quantity typed in the quantity field (base units, as the field is labelled: it replaces the total).
Entry = Code | Qty
Entries = Annotated[list[Entry], msgspec.Meta(min_length=1, max_length=ENTRIES_MAX)]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Receive(_Strict, frozen=True):
    items: Entries
    to_bin: Code  # the bin label as scanned
    lot: Lot = ""  # typed, or a lot label scanned when the item asked for it; a GS1 label carries its own
    damaged: Annotated[int, msgspec.Meta(ge=0, le=QTY_MAX)] = 0  # typed: of the units received
    doc_ref: DocRef = ""  # typed: delivery note, PO


class Move(_Strict, frozen=True):
    """A move or a putaway: from where, the items, to which bin."""

    from_bin: Code
    items: Entries
    to_bin: Code
    doc_ref: DocRef = ""  # a putaway's note: PUTAWAY, or the override reason and the bin it overrode


class Pick(_Strict, frozen=True):
    pick_list_id: Id
    line_id: Id
    bin: Code
    item_code: Code
    qty: Qty  # typed, in the scanned unit: one case barcode with qty 1 is a case


class Count(_Strict, frozen=True):
    task_id: Id
    item_code: Code
    qty: Annotated[int, msgspec.Meta(ge=0, le=QTY_MAX)]  # in the scanned unit; 0 is a valid "set"
    mode: Literal["set", "add"]
    lot: Lot = ""  # typed; a GS1 scan carries its lot itself


class FinishCount(_Strict, frozen=True):
    """The counter finished the bin: sent after its counted items, so it is applied after them."""

    task_id: Id


class Adjust(_Strict, frozen=True):
    bin: Code
    item_code: Code
    delta: Annotated[int, msgspec.Meta(ge=-QTY_MAX, le=QTY_MAX)]  # typed, in the item's base unit
    reason: Code
    lot: Lot = ""  # typed; a GS1 scan carries its lot itself


Step = Receive | Move | Pick | Count | FinishCount | Adjust
STEP_TYPES: dict[str, type[Step]] = {
    "receive": Receive, "move": Move, "pick": Pick, "count": Count, "count_finish": FinishCount, "adjust": Adjust,
}


# --- the payloads handhelds made before steps carried raw scans -------------------------------------
# Envelopes of this shape may still wait in an outbox; they are applied as they say (the SKU and the
# base-unit quantity the handheld worked out are taken as typed), never dropped.

class LegacyReceive(_Strict, frozen=True):
    sku: Code
    qty: Qty
    to_location: Code
    lot: Lot = ""
    expiry: date | None = None
    damaged: Annotated[int, msgspec.Meta(ge=0, le=QTY_MAX)] = 0
    doc_ref: DocRef = ""


class LegacyMove(_Strict, frozen=True):
    sku: Code
    qty: Qty
    from_location: Code
    to_location: Code
    lot: Lot = ""
    doc_ref: DocRef = ""


class LegacyAdjust(_Strict, frozen=True):
    sku: Code
    location: Code
    delta: Annotated[int, msgspec.Meta(ge=-QTY_MAX, le=QTY_MAX)]
    reason: Code
    lot: Lot = ""


Legacy = LegacyReceive | LegacyMove | LegacyAdjust
LEGACY_TYPES: dict[str, type[Legacy]] = {"receive": LegacyReceive, "move": LegacyMove, "adjust": LegacyAdjust}
