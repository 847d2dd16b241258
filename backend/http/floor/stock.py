"""Lookup, receive, putaway and move screens."""

from __future__ import annotations

import msgspec
from litestar import Request, get, post
from litestar.response import Template

from datetime import date

from backend.domain.catalog.service import get_item
from backend.domain.errors import InvalidInput
from backend.domain.ledger import commands as c
from backend.domain.ledger import queries
from backend.domain.ledger.audited import execute_as
from backend.domain.locations.service import get_location
from backend.domain.receiving.putaway import PUTAWAY_REASONS, suggest_bin
from backend.domain.receiving.receipts import Receipt, post_receipt
from backend.http.floor.common import (Tally, add_scan, envelope, pressed, read_form, rehearse, scan_bin, scan_item,
                                       screen)
from backend.http.session import actor, requires
from sync.envelopes import MovePayload, ReceivePayload

LOOKUP_ROWS_MAX = 100
LOOKUP_PROMPT = "Scan an item or a bin"


class NoState(msgspec.Struct):
    pass


@get("/floor/lookup", name="floor_lookup", guards=[requires("lookup")])
async def lookup_screen(request: Request) -> Template:
    return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup")


@post("/floor/lookup", name="floor_lookup_scan", guards=[requires("lookup")])
async def lookup_scan(request: Request) -> Template:
    _, code, _ = await read_form(request, NoState)
    loc = await scan_bin(code)
    if loc is not None:
        rows = await queries.balances(location_id=loc.id, limit=LOOKUP_ROWS_MAX)
        return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup", location=loc, rows=rows,
                      ok=f"Bin {loc.code}: {len(rows)} item(s)")
    scanned = await scan_item(code)
    rows = await queries.balances(item_id=scanned.item.id, limit=LOOKUP_ROWS_MAX)
    return screen(request, "floor/page.html", "floor/lookup.html", LOOKUP_PROMPT, title="Lookup", item=scanned.item, rows=rows,
                  available=await queries.available_to_sell(scanned.item), ok=f"{scanned.item.sku}")


class ReceiveState(Tally):
    expiry: str = ""
    damaged: int = 0
    doc_ref: str = ""


def _receive(request: Request, state: ReceiveState, **extra) -> Template:
    prompt = "Scan more of the item, or the bin to receive into" if state.sku else "Scan an item"
    return screen(request, "floor/page.html", "floor/receive.html", prompt, title="Receive", s=state, **extra)


@get("/floor/receive", name="floor_receive", guards=[requires("receive")])
async def receive_screen(request: Request) -> Template:
    return _receive(request, ReceiveState())


@post("/floor/receive", name="floor_receive_scan", guards=[requires("receive")])
async def receive_scan(request: Request) -> Template:
    """Scan items (each scan adds its unit quantity), then scan the bin to receive into."""
    state, code, key = await read_form(request, ReceiveState)
    loc = await scan_bin(code) if code else None
    if loc is None and code:
        scanned = await scan_item(code)
        before = state.sku
        state = add_scan(state, scanned)
        kept = state.expiry if state.sku == before else ""
        state = msgspec.structs.replace(state, expiry=scanned.expiry.isoformat() if scanned.expiry else kept)
        item = await get_item(state.sku)
        return _receive(request, state, item=item, ok=f"{item.sku} × {state.qty}. Scan more, or scan the bin.")
    if loc is None:
        return _receive(request, state, item=await get_item(state.sku) if state.sku else None)
    if not state.sku or state.qty <= 0:
        raise InvalidInput("Scan the item first, then the bin.")
    receipt = _receipt(state, loc.code)
    await rehearse(lambda: post_receipt(receipt, key=key, actor=actor(request)))
    msg = f"Received {state.qty} {state.sku} into {loc.code}" + (f" ({state.damaged} damaged)" if state.damaged else "")
    payload = ReceivePayload(sku=receipt.sku, qty=receipt.qty, to_location=receipt.to_location, lot=receipt.lot,
                             expiry=receipt.expiry, damaged=receipt.damaged, doc_ref=receipt.doc_ref)
    return _receive(request, ReceiveState(doc_ref=state.doc_ref), saving="Saving…", done=True,
                    envelope=envelope("receive", payload, msg))


def _receipt(state: ReceiveState, bin_code: str) -> Receipt:
    try:
        expiry = date.fromisoformat(state.expiry) if state.expiry else None
    except ValueError as exc:
        raise InvalidInput(f"Expiry {state.expiry!r} is not a date. Scan the item label again.") from exc
    return Receipt(sku=state.sku, qty=state.qty, damaged=state.damaged, to_location=bin_code, lot=state.lot,
                   expiry=expiry, doc_ref=state.doc_ref)


class MoveState(Tally):
    from_bin: str = ""


def _move(request: Request, state: MoveState, **extra) -> Template:
    if not state.from_bin:
        prompt = "Scan the bin to take from"
    else:
        prompt = "Scan the item" if not state.sku else "Scan more of the item, or the destination bin"
    return screen(request, "floor/page.html", "floor/move.html", prompt, title="Move", s=state, **extra)


@get("/floor/move", name="floor_move", guards=[requires("move")])
async def move_screen(request: Request) -> Template:
    return _move(request, MoveState())


@post("/floor/move", name="floor_move_scan", guards=[requires("move")])
async def move_scan(request: Request) -> Template:
    """Scan the from-bin, the item (each scan adds), then the to-bin: the move is checked and handed to
    the outbox as an envelope (it posts when the server applies that)."""
    state, code, key = await read_form(request, MoveState)
    if not code:
        return _move(request, state)
    loc = await scan_bin(code)
    if loc is not None and not state.from_bin:
        return _move(request, MoveState(from_bin=loc.code), ok=f"From {loc.code}. Scan the item.")
    if loc is None:
        if not state.from_bin:
            raise InvalidInput("Scan the bin you take the stock from first.")
        state = add_scan(state, await scan_item(code))
        return _move(request, state, ok=f"{state.sku} × {state.qty}. Scan more, or scan the destination bin.")
    if not state.sku or state.qty <= 0:
        raise InvalidInput("Scan the item to move before the destination bin.")
    move = c.Move(sku=state.sku, qty=state.qty, from_location=state.from_bin, to_location=loc.code, lot=state.lot)
    await rehearse(lambda: execute_as(move, key=key, actor=actor(request)))
    payload = MovePayload(sku=move.sku, qty=move.qty, from_location=move.from_location, to_location=move.to_location,
                          lot=move.lot)
    return _move(request, MoveState(), saving="Saving…", done=True,
                 envelope=envelope("move", payload, f"Moved {state.qty} {state.sku} {state.from_bin} → {loc.code}"))


class PutawayState(Tally):
    from_bin: str = ""
    suggested: str = ""
    override_bin: str = ""
    reason: str = ""


def _putaway(request: Request, state: PutawayState, **extra) -> Template:
    if not state.from_bin:
        prompt = "Scan the dock or tote location"
    else:
        prompt = "Scan the item" if not state.sku else f"Scan bin {state.suggested or 'to put it in'}"
    return screen(request, "floor/page.html", "floor/putaway.html", prompt, title="Putaway", s=state,
                  reasons=PUTAWAY_REASONS, **extra)


@get("/floor/putaway", name="floor_putaway", guards=[requires("putaway")])
async def putaway_screen(request: Request) -> Template:
    return _putaway(request, PutawayState())


@post("/floor/putaway", name="floor_putaway_scan", guards=[requires("putaway")])
async def putaway_scan(request: Request) -> Template:
    """Scan the dock/tote bin, the item: Stockline suggests a bin; scan it to confirm, or override
    with a reason."""
    state, code, key = await read_form(request, PutawayState)
    if await pressed(request) == "override":
        if not state.override_bin:
            raise InvalidInput("Scan the bin you put it in first.")
        return await _putaway_post(request, state, state.override_bin, key, override=True)
    if not code:
        return _putaway(request, state)
    loc = await scan_bin(code)
    if not state.from_bin:
        if loc is None:
            raise InvalidInput("Scan the dock or tote location you put away from.")
        return _putaway(request, PutawayState(from_bin=loc.code), ok=f"From {loc.code}. Scan the item.")
    if loc is None:
        return await _putaway_item(request, state, code)
    if not state.sku:
        raise InvalidInput("Scan the item before the bin.")
    if loc.code == state.suggested:
        return await _putaway_post(request, state, loc.code, key)
    state = msgspec.structs.replace(state, override_bin=loc.code)
    return _putaway(request, state, warn=f"{loc.code} is not the suggested bin {state.suggested or '—'}. "
                                         "Pick a reason to put it there, or scan the suggested bin.")


async def _putaway_item(request: Request, state: PutawayState, code: str) -> Template:
    scanned = await scan_item(code)
    src = await get_location(state.from_bin)
    if src.warehouse_id is None:
        raise InvalidInput(f"{src.code} is in no warehouse. Scan the dock or tote location you put away from.")
    tally = add_scan(state, scanned)
    suggestion = await suggest_bin(scanned.item.id, src.warehouse_id, exclude_location_id=src.id)
    state = PutawayState(from_bin=state.from_bin, sku=tally.sku, qty=tally.qty, lot=tally.lot,
                         suggested=suggestion.code if suggestion else "")
    hint = f"Put away in {suggestion.code}" if suggestion else "No empty bin found: scan any bin."
    return _putaway(request, state, ok=f"{state.sku} × {state.qty}. {hint}")


async def _putaway_post(request: Request, state: PutawayState, bin_code: str, key: str,
                        override: bool = False) -> Template:
    if override and state.reason not in PUTAWAY_REASONS:
        raise InvalidInput("Choose why you put it in another bin.")
    # The override and the bin it overrode travel in the movement's document reference (the envelope
    # has no other place for them), so the ledger still says why stock went elsewhere.
    doc_ref = f"PUTAWAY override: {state.reason}; suggested {state.suggested or 'none'}" if override else "PUTAWAY"
    move = c.Move(sku=state.sku, qty=state.qty, from_location=state.from_bin, to_location=bin_code, lot=state.lot,
                  doc_ref=doc_ref[:c.DOC_REF_LENGTH_MAX])
    await rehearse(lambda: execute_as(move, key=key, actor=actor(request)))
    payload = MovePayload(sku=move.sku, qty=move.qty, from_location=move.from_location, to_location=move.to_location,
                          lot=move.lot, doc_ref=move.doc_ref)
    return _putaway(request, PutawayState(from_bin=state.from_bin), saving="Saving…", done=True,
                    envelope=envelope("move", payload, f"Put away {state.qty} {state.sku} in {bin_code}"))


ROUTES = [lookup_screen, lookup_scan, receive_screen, receive_scan, move_screen, move_scan, putaway_screen,
          putaway_scan]
