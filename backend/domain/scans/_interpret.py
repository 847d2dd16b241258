"""The one interpreter of handheld steps: raw scans → the domain command they stand for.

Codes are read by the catalogue's resolver (biip for GS1, the item's units and case multipliers, a SKU
typed on the keypad), bins by their label or code; a run of item scans adds up as the floor screens
add it up (`add_up`). Online steps (the floor screens' check) and applied envelopes (sync/kinds.py)
both come through here, so the ledger does not depend on where a step was made. A replayed batch's
codes are read ahead, all at once (`_read_ahead`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backend.domain.catalog.service import ItemView, ScannedItem
from backend.domain.errors import InvalidInput, UnknownBarcode, UnknownLocation
from backend.domain.ledger import commands as ledger
from backend.domain.locations.service import STOCK_KINDS, LocationView
from backend.domain.receiving.receipts import Receipt
from backend.domain.scans._read_ahead import item_codes, locations
from backend.domain.scans._steps import (
    Adjust,
    Entry,
    LegacyAdjust,
    LegacyMove,
    LegacyReceive,
    Move,
    Receive,
)

MOVE_FROM_KINDS = ("bin", "staging")  # a move or putaway takes from a bin, a dock or tote, or staging


@dataclass(frozen=True, slots=True)
class Line:
    """What a run of item scans adds up to."""

    item: ItemView
    qty: int  # base units
    lot: str
    expiry: date | None = None


def lot_of(scanned: ScannedItem) -> str:
    """The lot a scan names: a serial-tracked item's serial number, else the GS1 lot."""
    return scanned.serial if scanned.item.serial_tracked and scanned.serial else scanned.lot


def refuse_other_line(sku: str, qty: int, lot: str, scanned: ScannedItem) -> None:
    """Repeated scans add up only for the same item and lot. Another item is refused while a tally waits
    (it would silently drop what was scanned), and so is another lot of the same item, so two lots are
    never posted as one."""
    if scanned.item.sku != sku:
        raise InvalidInput(f"{sku} × {qty} is not sent yet. Finish it, or tap Cancel, before "
                           f"scanning {scanned.item.sku}.")
    if lot_of(scanned) and lot and lot_of(scanned) != lot:
        raise InvalidInput(f"Finish or clear {sku} lot {lot} before scanning lot {lot_of(scanned)}.")


def add_scan(line: Line | None, scanned: ScannedItem) -> Line:
    """The line with one more scan (`refuse_other_line` says which scans may join it)."""
    lot = lot_of(scanned)
    if line is None or line.qty <= 0:
        return Line(scanned.item, scanned.qty_base, lot, scanned.expiry)
    refuse_other_line(line.item.sku, line.qty, line.lot, scanned)
    return Line(line.item, line.qty + scanned.qty_base, lot or line.lot, line.expiry or scanned.expiry)


def add_up(entries: Sequence[Entry], scanned: dict[str, ScannedItem]) -> Line:
    """The line a run of entries makes: each code adds what it stands for, a typed quantity replaces the
    total so far (the quantity field shows the total)."""
    line: Line | None = None
    for entry in entries:
        if isinstance(entry, int):
            if line is None:
                raise InvalidInput("Scan the item first, then type its quantity.")
            line = Line(line.item, entry, line.lot, line.expiry)
            continue
        hit = scanned.get(entry.strip())
        if hit is None:
            raise UnknownBarcode(entry)
        line = add_scan(line, hit)
    assert line is not None, "entries hold at least one code"
    return line


async def read_line(entries: Sequence[Entry]) -> Line:
    codes = [e for e in entries if isinstance(e, str)]
    return add_up(entries, await item_codes(codes))


def _with_lot(line: Line, typed: str) -> str:
    typed = typed.strip()
    if typed and line.lot and typed != line.lot:
        raise InvalidInput(f"The label says lot {line.lot} but {typed} was entered. Check the lot.")
    return typed or line.lot


async def _bins(codes: dict[str, tuple[str, ...]]) -> dict[str, LocationView]:
    """Each named code's location, of one of the kinds allowed for it (one statement for all)."""
    found = await locations(list(codes))
    for code, kinds in codes.items():
        loc = found.get(code.strip())
        if loc is None:
            raise UnknownLocation(code)
        if loc.kind not in kinds:
            raise InvalidInput(f"{loc.code} is a {loc.kind} location, not a bin. Scan a bin label.")
    return {code: found[code.strip()] for code in codes}


@dataclass(frozen=True, slots=True)
class ReceiptPlan:
    receipt: Receipt
    item: ItemView | None  # None for an old-format step (its SKU is taken as given)


async def receipt_of(step: Receive | LegacyReceive) -> ReceiptPlan:
    if isinstance(step, LegacyReceive):
        return ReceiptPlan(Receipt(sku=step.sku, qty=step.qty, damaged=step.damaged, to_location=step.to_location,
                                   lot=step.lot, expiry=step.expiry, doc_ref=step.doc_ref), None)
    line = await read_line(step.items)
    to = (await _bins({step.to_bin: ("bin",)}))[step.to_bin]
    receipt = Receipt(sku=line.item.sku, qty=line.qty, damaged=step.damaged, to_location=to.code,
                      lot=_with_lot(line, step.lot), expiry=line.expiry, doc_ref=step.doc_ref)
    return ReceiptPlan(receipt, line.item)


@dataclass(frozen=True, slots=True)
class MovePlan:
    move: ledger.Move
    item: ItemView | None  # None for an old-format step
    source: LocationView | None


async def move_of(step: Move | LegacyMove) -> MovePlan:
    if isinstance(step, LegacyMove):
        return MovePlan(ledger.Move(sku=step.sku, qty=step.qty, from_location=step.from_location,
                                    to_location=step.to_location, lot=step.lot, doc_ref=step.doc_ref), None, None)
    line = await read_line(step.items)
    where = await _bins({step.from_bin: MOVE_FROM_KINDS, step.to_bin: ("bin",)} if step.from_bin != step.to_bin
                        else {step.from_bin: MOVE_FROM_KINDS})
    src, dst = where[step.from_bin], where[step.to_bin]
    if src.id == dst.id:
        raise InvalidInput(f"{dst.code} is the bin you take from: scan the destination bin.")
    move = ledger.Move(sku=line.item.sku, qty=line.qty, from_location=src.code, to_location=dst.code, lot=line.lot,
                       doc_ref=step.doc_ref)
    return MovePlan(move, line.item, src)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """An adjustment request as the counts area takes it."""

    sku: str
    location: str
    delta: int
    reason: str
    lot: str = ""


async def adjustment_of(step: Adjust | LegacyAdjust) -> Adjustment:
    if isinstance(step, LegacyAdjust):
        return Adjustment(step.sku, step.location, step.delta, step.reason, step.lot)
    scanned = (await item_codes([step.item_code])).get(step.item_code.strip())
    if scanned is None:
        raise UnknownBarcode(step.item_code)
    where = await _bins({step.bin: STOCK_KINDS})
    line = Line(scanned.item, abs(step.delta), lot_of(scanned))
    return Adjustment(scanned.item.sku, where[step.bin].code, step.delta, step.reason, _with_lot(line, step.lot))
