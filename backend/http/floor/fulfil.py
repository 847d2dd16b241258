"""Pick, pack and ship screens (handheld), and the carton documents."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from backend.domain.errors import InvalidInput
from backend.domain.fulfillment import service as f
from backend.domain.fulfillment.queries import PickLineView
from backend.domain.fulfillment.rules import PICK_LIST_CODE_PREFIX
from backend.domain.locations.service import find_by_barcode, find_location
from backend.http.floor.common import (
    Step,
    check_scan_qty,
    envelope,
    find_scanned_item,
    forget,
    read_form,
    read_step,
    rehearse,
    remember,
    screen,
    take_back,
    unknown_code,
)
from backend.http.session import actor, requires
from sync.envelopes import PickPayload

SHORT_REASONS = ("empty_bin", "damaged", "not_found")
CARRIERS = ("DHL", "UPS", "FedEx", "USPS", "Royal Mail", "DPD", "GLS", "Other")


@get("/floor/pick", name="floor_pick", guards=[requires("pick")])
async def pick_lists(request: Request) -> Template:
    return await _pick_lists(request)


async def _pick_lists(request: Request, **extra) -> Template:
    lists = await f.list_open_pick_lists()
    return screen(request, "floor/page.html", "floor/pick_lists.html", "Scan a bin or an order, or tap a pick list",
                  title="Pick", lists=lists, **extra)


@post("/floor/pick", name="floor_pick_menu_scan", guards=[requires("pick")])
async def pick_menu_scan(request: Request) -> Template | Response:
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


async def _pick(request: Request, pick_list_id: int, state: PickState, line: object = _UNSET, undo: str = "",
                **extra) -> Template:
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
async def pick_screen(request: Request, pick_list_id: FromPath[int]) -> Template:
    await f.get_pick_list(pick_list_id)
    return await _pick(request, pick_list_id, PickState())


@post("/floor/pick/{pick_list_id:int}", name="floor_pick_scan", guards=[requires("pick")])
async def pick_scan(request: Request, pick_list_id: FromPath[int]) -> Template:
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

    async def pick_and_look_ahead() -> tuple[PickLineView, PickLineView | None]:
        picked = await f.confirm_pick(pick_list_id, line.id, line.bin, code, qty, key=key, actor=actor(request))
        return picked, await f.next_pick_line(pick_list_id)

    picked, next_line = await rehearse(pick_and_look_ahead)
    left = picked.qty - picked.picked_qty - picked.short_qty
    msg = f"Picked {picked.picked_qty} of {picked.qty} {picked.sku}" + (f", {left} to go" if left else "")
    if next_line is None:
        msg += ". Pick list done. Take the tote to packing."
    payload = PickPayload(pick_list_id=pick_list_id, line_id=line.id, bin=line.bin, item_code=code, qty=qty)
    # The screen shows the line as it will be once the envelope is applied; on any other answer the
    # outbox reloads the list from the server.
    refresh = request.app.route_reverse("floor_pick_list", pick_list_id=pick_list_id)
    return await _pick(request, pick_list_id, msgspec.structs.replace(state, qty=0), line=next_line, saving="Saving…",
                       envelope=envelope("pick", payload, msg, refresh=refresh))


async def _pick_bin(request: Request, pick_list_id: int, step: Step[PickState], line: PickLineView) -> Template:
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


async def _pack(request: Request, state: PackState, **extra) -> Template:
    carton = await f.get_carton(state.carton_id) if state.carton_id else None
    if carton is None:
        prompt = "Scan the order number (pick slip) to start a carton"
    else:
        prompt = "Scan each item into the carton" if carton.status == "open" else "Carton closed"
    return screen(request, "floor/page.html", "floor/pack.html", prompt, title="Pack", s=state, carton=carton,
                  order=await f.get_order(carton.order_ref) if carton else None, **extra)


@get("/floor/pack", name="floor_pack", guards=[requires("pack")])
async def pack_screen(request: Request) -> Template:
    return await _pack(request, PackState())


@post("/floor/pack", name="floor_pack_scan", guards=[requires("pack")])
async def pack_scan(request: Request) -> Template:
    state, code, key = await read_form(request, PackState)
    who = actor(request)
    if state.carton_id and state.finish:
        carton = await f.finish_carton(state.carton_id, key=key, actor=who)
        return await _pack(request, PackState(carton_id=carton.id), ok=f"Carton {carton.code} closed.", done=True)
    if not code:
        return await _pack(request, state)
    if not state.carton_id:
        carton = await f.start_carton(code, key=key, actor=who)
        return await _pack(request, PackState(carton_id=carton.id), ok=f"Carton {carton.code} for {carton.order_ref}.")
    carton = await f.pack_scan(state.carton_id, code, 1, key=key, actor=who)
    return await _pack(request, state, ok=f"Packed into {carton.code}.")


async def _document(carton_id: int, kind: str) -> Response:
    if kind == "slip.pdf":
        return Response(f.packing_slip_pdf(await f.packing_slip(carton_id)), media_type="application/pdf")
    label = await f.carton_label(carton_id)
    if kind == "label.pdf":
        return Response(f.carton_label_pdf(label), media_type="application/pdf")
    return Response(f.carton_label_zpl(label), media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{label.carton_code}.zpl"'})


@get("/floor/cartons/{carton_id:int}/{kind:str}", name="carton_document", guards=[requires("pack")])
async def carton_document(carton_id: FromPath[int], kind: FromPath[str]) -> Response:
    if kind not in ("slip.pdf", "label.pdf", "label.zpl"):
        raise InvalidInput("Documents are slip.pdf, label.pdf and label.zpl.")
    return await _document(carton_id, kind)


class ShipState(msgspec.Struct):
    carton: str = ""
    carrier: str = ""
    tracking: str = ""


def _ship(request: Request, state: ShipState, **extra) -> Template:
    if not state.carton:
        prompt = "Scan the carton label"
    else:
        prompt = "Choose the carrier" if not state.carrier else "Scan the tracking number"
    return screen(request, "floor/page.html", "floor/ship.html", prompt, title="Ship", s=state, carriers=CARRIERS,
                  **extra)


@get("/floor/ship", name="floor_ship", guards=[requires("ship")])
async def ship_screen(request: Request) -> Template:
    return _ship(request, ShipState())


@post("/floor/ship", name="floor_ship_scan", guards=[requires("ship")])
async def ship_scan(request: Request) -> Template:
    state, code, key = await read_form(request, ShipState)
    if not state.carton:
        if not code:
            return _ship(request, state)
        carton = await f.find_carton_by_code(code)
        if carton is not None:
            return _ship(request, ShipState(carton=carton.code), ok=f"Carton {carton.code} ({carton.order_ref}).")
        order = await f.find_order(code)
        if order is None:
            raise InvalidInput(f"No carton or order {code}. Scan the carton label.")
        return _ship(request, ShipState(carton=order.order_ref), ok=f"Order {order.order_ref}: all closed cartons.")
    tracking = code or state.tracking
    if not state.carrier or not tracking:
        return _ship(request, msgspec.structs.replace(state, tracking=tracking))
    shipment = await f.confirm_shipment(state.carton, state.carrier, tracking, key=key, actor=actor(request))
    return _ship(request, ShipState(), ok=f"Shipped {state.carton} with {shipment.carrier} {shipment.tracking}.",
                 done=True)


ROUTES = [pick_lists, pick_menu_scan, pick_screen, pick_scan, pack_screen, pack_scan, carton_document, ship_screen, ship_scan]
