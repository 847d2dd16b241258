"""Pick, pack and ship screens (handheld), and the carton documents."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from backend.domain import scans
from backend.domain.errors import InvalidInput
from backend.domain.fulfillment import service as f
from backend.domain.fulfillment.queries import PickLineView
from backend.domain.fulfillment.rules import PICK_LIST_CODE_PREFIX, check_tracking
from backend.domain.locations.service import find_by_barcode, find_location
from backend.http.connection import AnyResponse, AppRequest
from backend.http.floor.common import (
    UNDO_DEPTH_MAX,
    Step,
    check_scan_qty,
    envelope,
    find_scanned_item,
    forget,
    read_form,
    read_step,
    remember,
    screen,
    take_back,
    unknown_code,
)
from backend.http.session import actor, requires

SHORT_REASONS = ("empty_bin", "damaged", "not_found")
CARRIERS = ("DHL", "UPS", "FedEx", "USPS", "Royal Mail", "DPD", "GLS", "Other")


@get("/floor/pick", name="floor_pick", guards=[requires("pick")])
async def pick_lists(request: AppRequest) -> Template:
    return await _pick_lists(request)


async def _pick_lists(request: AppRequest, **extra: Any) -> Template:
    lists = await f.list_open_pick_lists()
    return screen(request, "floor/page.html", "floor/pick_lists.html", "Scan a bin or an order, or tap a pick list",
                  title="Pick", lists=lists, **extra)


@post("/floor/pick", name="floor_pick_menu_scan", guards=[requires("pick")])
async def pick_menu_scan(request: AppRequest) -> Template | Response[str]:
    """A scan on the menu opens the pick list with an open line in that bin, for that order or of that
    item, or says there is none."""
    _, code, _ = await read_form(request, NoState)
    if not code:
        return await _pick_lists(request, warn="Scan a bin or an order number, or tap a pick list.")
    found, what = await _pick_list_for(code)
    if found is None:
        return await _pick_lists(request, warn=f"No open pick list has {what}.")
    url = request.app.route_reverse("floor_pick_list", pick_list_id=found)
    return Response("", headers={"HX-Redirect": url, "Vary": "HX-Request"})


async def _pick_list_for(code: str) -> tuple[int | None, str]:
    if code.upper().startswith(PICK_LIST_CODE_PREFIX) and code[len(PICK_LIST_CODE_PREFIX):].isdigit():
        wanted = int(code[len(PICK_LIST_CODE_PREFIX):])
        return (wanted if any(pl.id == wanted for pl in await f.list_open_pick_lists()) else None), f"the code {code}"
    loc = await find_by_barcode(code) or await find_location(code)
    if loc is not None:
        return await f.open_pick_list_for(bin_id=loc.id), f"a line to pick in {loc.code}"
    order = await f.find_order(code)
    if order is not None:
        return await f.open_pick_list_for(order_ref=order.order_ref), f"a line to pick for order {order.order_ref}"
    scanned = await find_scanned_item(code)
    if scanned is not None:
        return await f.open_pick_list_for(item_id=scanned.item.id), f"a line to pick of {scanned.item.sku}"
    raise InvalidInput(unknown_code(code))


class NoState(msgspec.Struct):
    pass


class PickState(msgspec.Struct):
    line_id: int = 0
    bin_ok: bool = False
    qty: int = 0
    short_reason: str = ""


_UNSET = object()


async def _pick(request: AppRequest, pick_list_id: int, state: PickState, line: object = _UNSET, undo: str = "",
                **extra: Any) -> Template:
    """The pick list's next line: the database's, or `line` when the step shows what its envelope leads to."""
    line = await f.next_pick_line(pick_list_id) if line is _UNSET else line
    assert line is None or isinstance(line, PickLineView)
    if line is None:
        if "saving" not in extra:
            extra["ok"] = f"{extra.pop('ok', '') or ''} Pick list done. Take the tote to packing.".strip()
        return screen(request, "floor/page.html", "floor/pick.html", "Pick list done", title="Pick",
                      pick_list_id=pick_list_id, line=None, s=PickState(), reasons=SHORT_REASONS, done=True,
                      **extra)
    if line.id != state.line_id:
        state, undo = PickState(line_id=line.id), ""
    prompt = f"Scan the item {line.sku}" if state.bin_ok else f"Go to {line.bin} and scan the bin"
    return screen(request, "floor/page.html", "floor/pick.html", prompt, title="Pick", pick_list_id=pick_list_id,
                  line=line, s=state, reasons=SHORT_REASONS, undo=undo, cancellable=state.bin_ok, **extra)


@get("/floor/pick/{pick_list_id:int}", name="floor_pick_list", guards=[requires("pick")])
async def pick_screen(request: AppRequest, pick_list_id: FromPath[int]) -> Template:
    await f.get_pick_list(pick_list_id)
    return await _pick(request, pick_list_id, PickState())


@post("/floor/pick/{pick_list_id:int}", name="floor_pick_scan", guards=[requires("pick")])
async def pick_scan(request: AppRequest, pick_list_id: FromPath[int]) -> Template:
    """Scan the bin (wrong bin is blocked), then the item: each scan picks its unit quantity;
    or type a quantity; or record a short pick with a reason."""
    step = await read_step(request, PickState)
    state, code, key = step.state, step.code, step.key
    line = await f.next_pick_line(pick_list_id)
    if line is None or line.id != state.line_id:
        return await _pick(request, pick_list_id, PickState(), warn="The pick list changed; here is the next line.")
    if step.action == "cancel":
        return await _pick(request, pick_list_id, PickState(line_id=line.id),
                           warn=f"Cancelled: scan {line.bin} again when you are there.")
    if step.action == "undo":
        back = take_back(step, PickState)
        if back is None:
            return await _pick(request, pick_list_id, state, warn="Nothing to undo: every scan here was sent.")
        return await _pick(request, pick_list_id, back[0], undo=back[1], ok="Took back the last scan.")
    if step.action == "short":
        if not state.short_reason:
            raise InvalidInput(f"Choose why {line.sku} is short, then tap Record short pick.")
        await f.short_pick(pick_list_id, line.id, state.short_reason, key=key, actor=actor(request))
        return await _pick(request, pick_list_id, PickState(), warn=f"Short pick of {line.sku} recorded for a lead.")
    check_scan_qty(request, state.qty, "Quantity per scan")
    if not state.bin_ok:
        return await _pick_bin(request, pick_list_id, step, line)
    if not code:  # Enter in the quantity field
        per_scan = state.qty if state.qty > 0 else 1
        return await _pick(request, pick_list_id, state, undo=forget(step),
                           ok=f"{per_scan} per scan. Scan {line.sku} to pick.")
    scanned = await find_scanned_item(code)
    if scanned is None:
        loc = await find_by_barcode(code) or await find_location(code)
        if loc is not None and loc.code == line.bin:
            return await _pick(request, pick_list_id, state, undo=forget(step), ok=f"{line.bin} OK. Scan {line.sku}.")
        if loc is not None:
            raise InvalidInput(f"Wrong bin: that is {loc.code}, this line is in {line.bin}. Scan {line.sku}.")
        raise InvalidInput(unknown_code(code))
    qty = state.qty if state.qty > 0 else 1

    step_made = scans.Pick(pick_list_id=pick_list_id, line_id=line.id, bin=line.bin, item_code=code, qty=qty)
    picked = await scans.check_pick(step_made)  # the line as it reads once the envelope is applied
    next_line = picked if picked.status == "open" else await f.next_pick_line(pick_list_id, besides=line.id)
    left = picked.qty - picked.picked_qty - picked.short_qty
    msg = f"Picked {picked.picked_qty} of {picked.qty} {picked.sku}" + (f", {left} to go" if left else "")
    if next_line is None:
        msg += ". Pick list done. Take the tote to packing."
    # The screen shows the line as it will be once the envelope is applied; on any other answer the
    # outbox reloads the list from the server.
    refresh = request.app.route_reverse("floor_pick_list", pick_list_id=pick_list_id)
    return await _pick(request, pick_list_id, msgspec.structs.replace(state, qty=0), line=next_line, saving="Saving…",
                       envelope=envelope("pick", step_made, msg, refresh=refresh))


async def _pick_bin(request: AppRequest, pick_list_id: int, step: Step[PickState], line: PickLineView) -> Template:
    state, code = step.state, step.code
    if not code:
        return await _pick(request, pick_list_id, state, undo=forget(step), warn=f"Go to {line.bin} and scan the bin.")
    loc = await find_by_barcode(code) or await find_location(code)
    if loc is None:
        scanned = await find_scanned_item(code)
        if scanned is None:
            raise InvalidInput(unknown_code(code))
        raise InvalidInput(f"That is item {scanned.item.sku}: scan the bin {line.bin} first.")
    if loc.code != line.bin:
        raise InvalidInput(f"Wrong bin: go to {line.bin} (that is {loc.code}).")
    return await _pick(request, pick_list_id, msgspec.structs.replace(state, bin_ok=True), undo=remember(step),
                       ok=f"{line.bin} OK. Scan {line.sku}.")


class PackState(msgspec.Struct):
    carton_id: int = 0
    finish: bool = False


class PackedScan(msgspec.Struct):
    """What Undo last scan takes back out of the carton."""

    carton_id: int
    code: str
    units: int


def _pack_url(request: AppRequest, carton: f.CartonView | None) -> str:
    base = request.app.route_reverse("floor_pack")
    return f"{base}?carton={carton.code}" if carton is not None else base


async def _pack(request: AppRequest, state: PackState, undo: str = "", **extra: Any) -> Template:
    view = await f.pack_view(state.carton_id) if state.carton_id else None
    carton = view.carton if view else None
    if carton is None:
        prompt = "Scan the order number (pick slip) to pack it"
    else:
        prompt = f"Scan each item of {carton.order_ref} into the carton" if carton.status == "open" else "Carton closed"
    template = screen(request, "floor/page.html", "floor/pack.html", prompt, title="Pack", s=state, view=view,
                      carton=carton, open_cartons=[] if carton else await f.open_cartons(),
                      undo=undo if carton and carton.status == "open" else "",
                      cancellable=bool(carton and carton.status == "open"), cancel_label="Cancel carton",
                      cancel_confirm=f"Cancel carton {carton.code}? What is in it goes back to 'to pack'."
                      if carton else "", **extra)
    # Reload, Back and another handheld find the carton again: the address names it.
    template.headers["HX-Replace-Url"] = _pack_url(request, carton)
    return template


@get("/floor/pack", name="floor_pack", guards=[requires("pack")])
async def pack_screen(request: AppRequest, carton: FromQuery[str] = "") -> Template:
    found = await f.find_carton_by_code(carton) if carton else None
    if carton and found is None:
        return await _pack(request, PackState(), warn=f"No carton {carton}: it was cancelled or never made.")
    return await _pack(request, PackState(carton_id=found.id if found else 0))


@post("/floor/pack", name="floor_pack_scan", guards=[requires("pack")])
async def pack_scan(request: AppRequest) -> Template:
    step = await read_step(request, PackState)
    state, code, key = step.state, step.code, step.key
    who = actor(request)
    carton = await f.get_carton(state.carton_id) if state.carton_id else None
    is_open = carton is not None and carton.status == "open"
    if step.action == "cancel":
        if carton is None or not is_open:
            return await _pack(request, PackState(), warn="No open carton to cancel.")
        cancelled = await f.cancel_carton(carton.id, key=key, actor=who)
        back = f" Its {cancelled.units} unit(s) are back to pack." if cancelled.units else ""
        return await _pack(request, PackState(), warn=f"Carton {cancelled.code} cancelled.{back}")
    if step.action == "undo" and carton is not None:
        return await _pack_undo(request, step, carton)
    if is_open and state.finish:
        assert carton is not None
        closed = await f.finish_carton(carton.id, key=key, actor=who)
        return await _pack(request, PackState(carton_id=closed.id), ok=f"Carton {closed.code} closed.", done=True)
    if not code:
        said = f"Scan each item into {carton.code}, or tap Finish carton." if is_open and carton else \
            "Scan the order number (pick slip) to pack it."
        return await _pack(request, state, forget(step), warn=said)
    if not is_open:
        return await _pack_start(request, step)
    assert carton is not None
    return await _pack_item(request, step, carton)


async def _pack_start(request: AppRequest, step: Step[PackState]) -> Template:
    code = step.code
    found = await f.find_carton_by_code(code)
    if found is not None:
        if found.status == "open":
            return await _pack(request, PackState(carton_id=found.id),
                               ok=f"Carton {found.code} for {found.order_ref}: go on packing.")
        return await _pack(request, PackState(carton_id=found.id), warn=f"Carton {found.code} is {found.status}.")
    order = await f.find_order(code)
    if order is None:
        scanned = await find_scanned_item(code)
        if scanned is not None:
            raise InvalidInput(f"That is item {scanned.item.sku}: scan the order number (pick slip) first.")
        raise InvalidInput(unknown_code(code))
    carton, resumed = await f.carton_for_order(order.order_ref, key=step.key, actor=actor(request))
    if resumed:
        units = sum(line.qty for line in carton.lines)
        return await _pack(request, PackState(carton_id=carton.id),
                           ok=f"Carton {carton.code} for {carton.order_ref} is open with {units} unit(s): "
                              "go on packing.")
    return await _pack(request, PackState(carton_id=carton.id), ok=f"Carton {carton.code} for {carton.order_ref}.")


async def _pack_item(request: AppRequest, step: Step[PackState], carton: f.CartonView) -> Template:
    code = step.code
    # An order number or carton label is never read as an item.
    other = await f.find_carton_by_code(code)
    order = None if other else await f.find_order(code)
    if other is not None or order is not None:
        ref = other.order_ref if other else order.order_ref  # type: ignore[union-attr]
        if (other is None or other.id == carton.id) and ref == carton.order_ref:
            return await _pack(request, step.state, forget(step),
                               ok=f"Carton {carton.code} of {carton.order_ref} is open: scan its items.")
        raise InvalidInput(f"Carton {carton.code} of {carton.order_ref} is open. Finish it or cancel it before "
                           f"packing {ref}.")
    scanned = await find_scanned_item(code)
    if scanned is None:
        raise InvalidInput(unknown_code(code))
    packed = await f.pack_scan(carton.id, code, 1, key=step.key, actor=actor(request))
    units = scanned.qty_base
    back = PackedScan(carton_id=carton.id, code=code, units=units)
    undo = json.dumps([*step.history, msgspec.json.encode(back).decode()][-UNDO_DEPTH_MAX:])
    in_carton = sum(line.qty for line in packed.lines if line.sku == scanned.item.sku)
    return await _pack(request, step.state, undo,
                       ok=f"Packed into {packed.code}: {units} {scanned.item.sku} ({in_carton} in it).")


async def _pack_undo(request: AppRequest, step: Step[PackState], carton: f.CartonView) -> Template:
    taken = take_back(step, PackedScan)
    if taken is None or not isinstance(taken[0], PackedScan) or taken[0].carton_id != carton.id:
        return await _pack(request, step.state, warn="Nothing to undo in this carton.")
    back, undo = taken
    await f.unpack(carton.id, back.code, back.units, key=step.key, actor=actor(request))
    return await _pack(request, step.state, undo, ok=f"Took {back.units} back out of {carton.code}: put it aside.")


async def _document(carton_id: int, kind: str) -> AnyResponse:
    if kind == "slip.pdf":
        return Response(f.packing_slip_pdf(await f.packing_slip(carton_id)), media_type="application/pdf")
    label = await f.carton_label(carton_id)
    if kind == "label.pdf":
        return Response(f.carton_label_pdf(label), media_type="application/pdf")
    return Response(f.carton_label_zpl(label), media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{label.carton_code}.zpl"'})


@get("/floor/cartons/{carton_id:int}/{kind:str}", name="carton_document", guards=[requires("pack")])
async def carton_document(carton_id: FromPath[int], kind: FromPath[str]) -> AnyResponse:
    if kind not in ("slip.pdf", "label.pdf", "label.zpl"):
        raise InvalidInput("Documents are slip.pdf, label.pdf and label.zpl.")
    return await _document(carton_id, kind)


class ShipState(msgspec.Struct):
    carton: str = ""
    carrier: str = ""
    tracking: str = ""


async def _ship(request: AppRequest, state: ShipState, undo: str = "", **extra: Any) -> Template:
    if not state.carton:
        prompt = "Scan the carton label"
    elif not state.carrier:
        prompt = "Choose the carrier" + (", then tap Confirm shipment" if state.tracking else "")
    else:
        prompt = "Scan the tracking number" if not state.tracking else "Tap Confirm shipment"
    return screen(request, "floor/page.html", "floor/ship.html", prompt, title="Ship", s=state, carriers=CARRIERS,
                  undo=undo, cancellable=bool(state.carton), **extra)


@get("/floor/ship", name="floor_ship", guards=[requires("ship")])
async def ship_screen(request: AppRequest) -> Template:
    return await _ship(request, ShipState())


@post("/floor/ship", name="floor_ship_scan", guards=[requires("ship")])
async def ship_scan(request: AppRequest) -> Template:
    """Scan the carton (checked at once: finished, not shipped, nothing of its order left unpacked), choose
    the carrier, scan the tracking number: it ships. Cancel at every step."""
    step = await read_step(request, ShipState)
    state, code = step.state, step.code
    if step.action == "cancel":
        return await _ship(request, ShipState(), warn="Cancelled: nothing was shipped.")
    if step.action == "undo":
        back = take_back(step, ShipState)
        if back is None:
            return await _ship(request, state, warn="Nothing to undo: no scan waits to be sent.")
        return await _ship(request, back[0], back[1], ok="Took back the last scan.")
    if not state.carton:
        if not code:
            return await _ship(request, state, warn="Scan the carton label.")
        return await _ship_what(request, step)
    if code:
        if await f.find_carton_by_code(code) is not None or await f.find_order(code) is not None:
            raise InvalidInput(f"That is a carton or order label, not a tracking number. Ship {state.carton} first, "
                               "or tap Cancel.")
        check_tracking(code)
        state = msgspec.structs.replace(state, tracking=code)
        if not state.carrier:
            return await _ship(request, state, remember(step), warn=f"Tracking {code}. Choose the carrier, then tap "
                                                                     "Confirm shipment.")
    if not state.carrier or not state.tracking:
        missing = "Choose the carrier." if not state.carrier else "Scan the tracking number."
        return await _ship(request, state, forget(step), warn=missing)
    shipment = await f.confirm_shipment(state.carton, state.carrier, state.tracking, key=step.key, actor=actor(request))
    return await _ship(request, ShipState(), ok=f"Shipped {state.carton} with {shipment.carrier} {shipment.tracking}.",
                       done=True)


async def _ship_what(request: AppRequest, step: Step[ShipState]) -> Template:
    """The carton (or order) scanned is checked now, before carrier and tracking are asked for."""
    code = step.code
    carton = await f.find_carton_by_code(code)
    if carton is not None:
        if carton.status == "open":
            raise InvalidInput(f"Carton {carton.code} is not finished. Finish packing it before shipping.")
        if carton.status == "shipped":
            raise InvalidInput(f"Carton {carton.code} has already shipped.")
        carton_order = await f.get_order(carton.order_ref)
        blocked = await f.shipping_blockers(carton_order.id, carton_order.order_ref)
        if blocked:
            raise InvalidInput(blocked)
        units = sum(line.qty for line in carton.lines)
        return await _ship(request, ShipState(carton=carton.code), remember(step),
                           ok=f"Carton {carton.code} ({carton.order_ref}, {units} unit(s)). Choose the carrier.")
    order = await f.find_order(code)
    if order is None:
        raise InvalidInput(unknown_code(code))
    blocked = await f.shipping_blockers(order.id, order.order_ref)
    if blocked:
        raise InvalidInput(blocked)
    if not any(line.packed_qty > line.shipped_qty for line in order.lines):
        raise InvalidInput(f"Nothing of order {order.order_ref} is packed to ship.")
    return await _ship(request, ShipState(carton=order.order_ref), remember(step),
                       ok=f"Order {order.order_ref}: all its finished cartons. Choose the carrier.")


ROUTES = [pick_lists, pick_menu_scan, pick_screen, pick_scan, pack_screen, pack_scan, carton_document, ship_screen,
          ship_scan]
