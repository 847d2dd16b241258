"""Lookup, receive, putaway and move screens.

Every scan is answered (ok, warn or error) and every task can be cancelled or its last scan taken
back until the step is sent (`common.Step`). A line above STOCKLINE_CONFIRM_QTY_OVER units is sent
only when its target is scanned a second time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import get, post
from litestar.response import Template

from backend.domain import scans
from backend.domain.catalog.service import ItemView, get_item
from backend.domain.errors import InvalidInput, InvalidQuantity
from backend.domain.ledger import commands as c
from backend.domain.ledger import queries
from backend.domain.locations.service import (
    LocationView,
    find_location,
    find_scanned_location,
    get_location,
)
from backend.domain.purchasing import PurchaseOrderView, po_number_of
from backend.domain.receiving.putaway import PUTAWAY_REASONS, suggest_bin
from backend.http.connection import AppRequest
from backend.http.floor.common import (
    S,
    Step,
    Tally,
    add_scan,
    check_line_qty,
    check_scan_qty,
    entries,
    envelope,
    find_scanned_item,
    forget,
    needs_confirming,
    read_form,
    read_step,
    remember,
    scan_bin,
    screen,
    take_back,
    unknown_code,
)
from backend.http.floor.receive_po import (
    expected_lines,
    expected_order,
    order_for_item,
    select_order,
)
from backend.http.session import requires

LOOKUP_ROWS_MAX = 100
LOOKUP_PROMPT = "Scan an item or a bin"
LOT_SCAN_LENGTH_MAX = 64  # a scanned lot label longer than this is cut, and the ledger refuses nothing longer
PUTAWAY_FROM_KINDS = ("bin", "staging")  # the dock and totes are bins; picked stock waits in staging


class NoState(msgspec.Struct):
    pass


@get("/floor/lookup", name="floor_lookup", guards=[requires("lookup")])
async def lookup_screen(request: AppRequest) -> Template:
    return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup")


@post("/floor/lookup", name="floor_lookup_scan", guards=[requires("lookup")])
async def lookup_scan(request: AppRequest) -> Template:
    _, code, _ = await read_form(request, NoState)
    if not code:
        return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup",
                      warn="Scan an item or a bin label.")
    loc = await find_scanned_location(code)
    if loc is not None:
        rows = await queries.balances(location_id=loc.id, limit=LOOKUP_ROWS_MAX)
        return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup", location=loc,
                      rows=rows, ok=f"{loc.code}: {len(rows)} item(s)")
    scanned = await find_scanned_item(code)
    if scanned is None:
        raise InvalidInput(unknown_code(code))
    rows = await queries.balances(item_id=scanned.item.id, limit=LOOKUP_ROWS_MAX)
    # The heading is the sum of the rows it heads: units free to pick in bins. Picked stock waiting in
    # staging (and quarantined or damaged units) is listed, but is not available.
    sellable = {code for code in {r.location for r in rows} if await _is_bin(code)}
    available = sum(r.available for r in rows if r.location in sellable)
    return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup", item=scanned.item,
                  rows=rows, sellable=sellable, available=available, capped=len(rows) >= LOOKUP_ROWS_MAX,
                  ok=f"{scanned.item.sku}")


async def _is_bin(code: str) -> bool:
    loc = await find_location(code)
    return loc is not None and loc.kind == "bin"


# --- receive ---------------------------------------------------------------------------------------

class ReceiveState(Tally):
    expiry: str = ""
    damaged: int = 0
    doc_ref: str = ""
    confirm: str = ""  # "BIN|QTY" once the bin was scanned for a line that needs a second scan


def _tracked(item: ItemView | None) -> bool:
    return bool(item and (item.lot_tracked or item.serial_tracked))


def _lot_word(item: ItemView) -> str:
    return "serial number" if item.serial_tracked else "lot"


async def _receive(request: AppRequest, state: ReceiveState, undo: str = "", sent: tuple[str, int] = ("", 0),
                   **extra: Any) -> Template:
    item = await get_item(state.sku) if state.sku else None
    if not state.sku:
        prompt = "Scan an item"
    elif item is not None and _tracked(item) and not state.lot:
        prompt = f"Scan or type the {_lot_word(item)} of {state.sku}"
    elif state.confirm:
        prompt = f"Scan {state.confirm.split('|')[0]} again to receive"
    else:
        prompt = "Scan more of the item, or the bin to receive into"
    po = await expected_order(state.doc_ref)
    if po is not None and not state.sku:
        prompt = f"Scan an item of {po.number}"
    expected = expected_lines(po, *sent) if po is not None else []
    return screen(request, "floor/page.html", "floor/receive.html", prompt, title="Receive", s=state, item=item,
                  po=po, expected=expected, undo=undo, cancellable=bool(state.sku), **extra)


@get("/floor/receive", name="floor_receive", guards=[requires("receive")])
async def receive_screen(request: AppRequest) -> Template:
    return await _receive(request, ReceiveState())


async def undo_step(request: AppRequest, step: Step[S], state_type: type[S], show: Callable[..., Awaitable[Template]],
                    **keep: Any) -> Template:
    """Undo last scan: the state before it, or a word that there is nothing to take back."""
    back = take_back(step, state_type)
    if back is None:
        return await show(request, step.state, forget(step), warn="Nothing to undo: no scan waits to be sent.")
    state, undo = back
    return await show(request, state, undo, ok="Took back the last scan.", **keep)


@post("/floor/receive", name="floor_receive_scan", guards=[requires("receive")])
async def receive_scan(request: AppRequest) -> Template:
    """Scan items (each scan adds its unit quantity), the lot when the item asks for one, then the bin
    to receive into."""
    step = await read_step(request, ReceiveState)
    state, code = step.state, step.code
    if step.action == "cancel":
        return await _receive(request, ReceiveState(doc_ref=state.doc_ref), warn="Cancelled: nothing was received.")
    if step.action == "undo":
        return await undo_step(request, step, ReceiveState, _receive)
    _check_receipt_entries(request, state)
    if not code:  # Enter in a field: the typed values are kept
        if not state.sku:
            return await _receive(request, state, forget(step), warn="Scan an item to receive.")
        return await _receive(request, state, forget(step),
                              ok=f"{state.sku} × {state.qty}. Scan the bin to receive into.")
    if po_number_of(code) is not None:
        po = await select_order(code, state.sku)
        return await _receive(request, ReceiveState(doc_ref=po.number), remember(step),
                              ok=f"{po.number} from {po.supplier_name}: {po.qty_open:,} unit(s) expected.")
    loc = await scan_bin(code)
    if loc is None:
        return await _receive_item(request, step)
    return await _receive_into(request, step, loc)


def _check_receipt_entries(request: AppRequest, state: ReceiveState) -> None:
    if not state.sku:
        return
    check_scan_qty(request, state.damaged, "Damaged")
    check_line_qty(request, state.qty, state.sku)
    if state.qty <= 0:
        raise InvalidQuantity(f"Quantity {state.qty} of {state.sku}: type at least 1, or tap Cancel.")
    if state.damaged > state.qty:
        raise InvalidQuantity(f"{state.damaged} damaged is more than the {state.qty} {state.sku} received.")


async def _receive_item(request: AppRequest, step: Step[ReceiveState]) -> Template:
    state, code = step.state, step.code
    scanned = await find_scanned_item(code)
    if scanned is None:
        item = await get_item(state.sku) if state.sku else None
        if item is not None and _tracked(item) and not state.lot:
            # The item asked for its lot: a code that names nothing else is that lot's label.
            lot = code[:LOT_SCAN_LENGTH_MAX]
            return await _receive(request, msgspec.structs.replace(state, lot=lot), remember(step),
                                  ok=f"{_lot_word(item).capitalize()} {lot} for {state.sku}. Scan the bin.")
        raise InvalidInput(unknown_code(code))
    check_scan_qty(request, scanned.qty_base, scanned.item.sku)
    po = await order_for_item(state.doc_ref, scanned.item.sku)
    added = add_scan(state, scanned, code)
    check_line_qty(request, added.qty, added.sku)
    expiry = scanned.expiry.isoformat() if scanned.expiry else (state.expiry if state.sku else "")
    added = msgspec.structs.replace(added, expiry=expiry, confirm="")
    if _tracked(scanned.item) and not added.lot:
        return await _receive(request, added, remember(step),
                              ok=f"{added.sku} × {added.qty}. Scan or type its {_lot_word(scanned.item)}.")
    return await _receive(request, added, remember(step), ok=f"{added.sku} × {added.qty}. Scan more, or scan the bin.",
                          warn=_over(po, added.sku, added.qty))


def _over(po: PurchaseOrderView | None, sku: str, qty: int) -> str | None:
    """A word when more arrives than the order still expects (received all the same: it is here)."""
    line = next((line for line in po.lines if line.sku == sku), None) if po else None
    if po is None or line is None or qty <= line.qty_open:
        return None
    return (f"{sku} × {qty}: only {line.qty_open} still expected on {po.number}. "
            "Check the count; extra units are received.")



async def _receive_into(request: AppRequest, step: Step[ReceiveState], loc: LocationView) -> Template:
    state = step.state
    if not state.sku:
        raise InvalidInput("Scan the item first, then the bin.")
    item = await get_item(state.sku)
    if _tracked(item) and not state.lot:
        raise InvalidInput(f"{state.sku} needs its {_lot_word(item)}: scan or type it first, then scan the bin.")
    target = f"{loc.code}|{state.qty}"
    if needs_confirming(request, state.qty, target, state.confirm):
        return await _receive(request, msgspec.structs.replace(state, confirm=target), remember(step),
                              warn=f"Receive {state.qty:,} {state.sku}? Check the quantity, then scan {loc.code} "
                                   "again to receive.")
    # The step as the worker made it: the server's interpreter reads it now (reads only) and again when
    # the outbox's envelope is applied.
    step_made = scans.Receive(items=entries(state), to_bin=step.code, lot=state.lot, damaged=state.damaged,
                              doc_ref=state.doc_ref)
    receipt = (await scans.check_receive(step_made)).receipt
    msg = f"Received {receipt.qty} {receipt.sku} into {loc.code}" + (
        f" ({receipt.damaged} damaged)" if receipt.damaged else "")
    return await _receive(request, ReceiveState(doc_ref=state.doc_ref), sent=(receipt.sku, receipt.qty),
                          saving="Saving…", done=True, envelope=envelope("receive", step_made, msg))


# --- move ------------------------------------------------------------------------------------------

class MoveState(Tally):
    from_bin: str = ""
    confirm: str = ""


async def _move(request: AppRequest, state: MoveState, undo: str = "", **extra: Any) -> Template:
    if not state.from_bin:
        prompt = "Scan the bin to take from"
    elif not state.sku:
        prompt = "Scan the item"
    elif state.confirm:
        prompt = f"Scan {state.confirm.split('|')[0]} again to move"
    else:
        prompt = "Scan more of the item, or the destination bin"
    return screen(request, "floor/page.html", "floor/move.html", prompt, title="Move", s=state, undo=undo,
                  cancellable=bool(state.from_bin), **extra)


@get("/floor/move", name="floor_move", guards=[requires("move")])
async def move_screen(request: AppRequest) -> Template:
    return await _move(request, MoveState())


@post("/floor/move", name="floor_move_scan", guards=[requires("move")])
async def move_scan(request: AppRequest) -> Template:
    """Scan the from-bin, the item (each scan adds), then the to-bin: the move is checked and handed to
    the outbox as an envelope (it posts when the server applies that)."""
    step = await read_step(request, MoveState)
    state, code = step.state, step.code
    if step.action == "cancel":
        return await _move(request, MoveState(), warn="Cancelled: nothing was moved.")
    if step.action == "undo":
        return await undo_step(request, step, MoveState, _move)
    if state.sku:
        check_line_qty(request, state.qty, state.sku)
    if not code:
        if not state.sku:
            return await _move(request, state, forget(step), warn=_move_next(state))
        return await _move(request, state, forget(step), ok=f"{state.sku} × {state.qty}. Scan the destination bin.")
    loc = await scan_bin(code)
    if loc is not None and not state.from_bin:
        return await _move(request, MoveState(from_bin=loc.code), remember(step), ok=f"From {loc.code}. Scan the item.")
    if loc is None:
        if not state.from_bin:
            scanned = await find_scanned_item(code)
            raise InvalidInput("Scan the bin you take the stock from first." if scanned else unknown_code(code))
        scanned = await find_scanned_item(code)
        if scanned is None:
            raise InvalidInput(unknown_code(code))
        check_scan_qty(request, scanned.qty_base, scanned.item.sku)
        added = msgspec.structs.replace(add_scan(state, scanned, code), confirm="")
        check_line_qty(request, added.qty, added.sku)
        return await _move(request, added, remember(step),
                           ok=f"{added.sku} × {added.qty}. Scan more, or scan the destination bin.")
    if not state.sku or state.qty <= 0:
        raise InvalidInput("Scan the item to move before the destination bin.")
    if loc.code == state.from_bin:
        raise InvalidInput(f"{loc.code} is the bin you take from: scan the destination bin.")
    target = f"{loc.code}|{state.qty}"
    if needs_confirming(request, state.qty, target, state.confirm):
        return await _move(request, msgspec.structs.replace(state, confirm=target), remember(step),
                           warn=f"Move {state.qty:,} {state.sku}? Check the quantity, then scan {loc.code} again.")
    step_made = scans.Move(from_bin=state.from_bin, items=entries(state), to_bin=step.code)
    move = (await scans.check_move(step_made)).move
    return await _move(request, MoveState(), saving="Saving…", done=True,
                       envelope=envelope("move", step_made, f"Moved {move.qty} {move.sku} {move.from_location} → "
                                                            f"{move.to_location}"))


def _move_next(state: MoveState) -> str:
    return "Scan the bin to take from." if not state.from_bin else "Scan the item to move."


# --- putaway ---------------------------------------------------------------------------------------

class PutawayState(Tally):
    from_bin: str = ""
    suggested: str = ""
    override_bin: str = ""
    reason: str = ""
    confirm: str = ""


async def _putaway(request: AppRequest, state: PutawayState, undo: str = "", **extra: Any) -> Template:
    if not state.from_bin:
        prompt = "Scan where the stock is now: dock, tote or staging"
    elif not state.sku:
        prompt = "Scan the item"
    else:
        prompt = f"Scan bin {state.suggested or 'to put it in'}"
    return screen(request, "floor/page.html", "floor/putaway.html", prompt, title="Put away", s=state,
                  reasons=PUTAWAY_REASONS, undo=undo, cancellable=bool(state.from_bin), **extra)


@get("/floor/putaway", name="floor_putaway", guards=[requires("putaway")])
async def putaway_screen(request: AppRequest) -> Template:
    return await _putaway(request, PutawayState())


async def _scan_source(code: str) -> LocationView | None:
    """Where stock is put away from: a bin (dock, tote) or the warehouse's staging location."""
    loc = await find_scanned_location(code)
    if loc is None:
        return None
    if loc.kind not in PUTAWAY_FROM_KINDS:
        raise InvalidInput(f"{loc.code} is a {loc.kind}: scan the dock, tote or staging location the stock is in.")
    return loc


@post("/floor/putaway", name="floor_putaway_scan", guards=[requires("putaway")])
async def putaway_scan(request: AppRequest) -> Template:
    """Scan where the stock is (dock, tote or staging), the item: Stockline suggests a bin; scan it to
    confirm, or override with a reason."""
    step = await read_step(request, PutawayState)
    state, code = step.state, step.code
    if step.action == "cancel":
        return await _putaway(request, PutawayState(), warn="Cancelled: nothing was put away.")
    if step.action == "undo":
        return await undo_step(request, step, PutawayState, _putaway)
    if step.action == "override":
        if not state.override_bin:
            raise InvalidInput("Scan the bin you put it in first.")
        return await _putaway_post(request, step, state.override_bin, override=True)
    if not code:
        return await _putaway(request, state, forget(step), warn=_putaway_next(state))
    if not state.from_bin:
        loc = await _scan_source(code)
        if loc is None:
            raise InvalidInput("Scan the dock, tote or staging location you put away from." if
                               await find_scanned_item(code) else unknown_code(code))
        return await _putaway(request, PutawayState(from_bin=loc.code), remember(step),
                              ok=f"From {loc.code}. Scan the item.")
    loc = await scan_bin(code)
    if loc is None:
        return await _putaway_item(request, step)
    if not state.sku:
        raise InvalidInput("Scan the item before the bin.")
    if loc.code == state.suggested:
        return await _putaway_post(request, step, loc.code)
    moved = msgspec.structs.replace(state, override_bin=loc.code)
    return await _putaway(request, moved, remember(step),
                          warn=f"{loc.code} is not the suggested bin {state.suggested or '—'}. "
                               "Pick a reason to put it there, or scan the suggested bin.")


def _putaway_next(state: PutawayState) -> str:
    if not state.from_bin:
        return "Scan the dock, tote or staging location you put away from."
    return "Scan the item." if not state.sku else f"Scan bin {state.suggested or 'to put it in'}."


async def _putaway_item(request: AppRequest, step: Step[PutawayState]) -> Template:
    state, code = step.state, step.code
    scanned = await find_scanned_item(code)
    if scanned is None:
        raise InvalidInput(unknown_code(code))
    check_scan_qty(request, scanned.qty_base, scanned.item.sku)
    src = await get_location(state.from_bin)
    if src.warehouse_id is None:
        raise InvalidInput(f"{src.code} is in no warehouse. Scan the dock, tote or staging location you put away from.")
    tally = add_scan(state, scanned, code)
    check_line_qty(request, tally.qty, tally.sku)
    suggestion = await suggest_bin(scanned.item.id, src.warehouse_id, exclude_location_id=src.id)
    new = PutawayState(from_bin=state.from_bin, sku=tally.sku, qty=tally.qty, lot=tally.lot, items=tally.items,
                       shown=tally.shown, suggested=suggestion.code if suggestion else "")
    hint = f"Put away in {suggestion.code}" if suggestion else "No empty bin found: scan any bin."
    return await _putaway(request, new, remember(step), ok=f"{new.sku} × {new.qty}. {hint}")


async def _putaway_post(request: AppRequest, step: Step[PutawayState], bin_code: str,
                        override: bool = False) -> Template:
    state = step.state
    if override and state.reason not in PUTAWAY_REASONS:
        raise InvalidInput("Choose why you put it in another bin.")
    target = f"{bin_code}|{state.qty}"
    if needs_confirming(request, state.qty, target, state.confirm):
        return await _putaway(request, msgspec.structs.replace(state, confirm=target), remember(step),
                              warn=f"Put away {state.qty:,} {state.sku}? Check the quantity, then "
                                   + ("tap the button again." if override else f"scan {bin_code} again."))
    # The override and the bin it overrode travel in the movement's document reference (the envelope
    # has no other place for them), so the ledger still says why stock went elsewhere.
    doc_ref = f"PUTAWAY override: {state.reason}; suggested {state.suggested or 'none'}" if override else "PUTAWAY"
    step_made = scans.Move(from_bin=state.from_bin, items=entries(state), to_bin=bin_code,
                           doc_ref=doc_ref[:c.DOC_REF_LENGTH_MAX])
    move = (await scans.check_move(step_made)).move
    return await _putaway(request, PutawayState(from_bin=state.from_bin), saving="Saving…", done=True,
                          envelope=envelope("move", step_made, f"Put away {move.qty} {move.sku} in {bin_code}"))


ROUTES = [lookup_screen, lookup_scan, receive_screen, receive_scan, move_screen, move_scan, putaway_screen,
          putaway_scan]
