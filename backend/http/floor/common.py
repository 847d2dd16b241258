"""Shared plumbing for scan-driven screens.

A screen is one form: hidden fields carry the step's state, the scan field carries the new
scan, `key` carries the idempotency key of the action the form will post (namespaced by the
signed-in user: `floor:{user_id}:{key}`). A step that acts beyond the scan (a short pick, a
putaway override, an adjustment, Undo last scan, Cancel) acts only when its button was pressed:
`name="action"` (`Step.action`). Each POST returns
the same partial with the next step; errors go through the one error mapper, which swaps a
message into #feedback so the half-done state on screen is kept.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from litestar.response import Template

from backend.domain import scans
from backend.domain.catalog.service import ScannedItem, resolve_item_codes
from backend.domain.errors import (
    InvalidBarcode,
    InvalidInput,
    InvalidQuantity,
    UnknownBarcode,
)
from backend.domain.idempotency import scoped_key
from backend.domain.locations.service import LocationView, find_scanned_location
from backend.http.connection import AppRequest, settings_of
from backend.http.session import session_of
from backend.settings import Settings

S = TypeVar("S", bound=msgspec.Struct)
E = TypeVar("E", bound=msgspec.Struct)  # what an undo entry holds (a screen's state, or what one scan did)
T = TypeVar("T", bound="Tally")
SCAN_LENGTH_MAX = 200
UNDO_DEPTH_MAX = 10  # scans a task screen can take back, newest first
UNDO_LENGTH_MAX = 8_000  # characters of the hidden undo field


def new_key() -> str:
    return uuid.uuid4().hex


async def read_form(request: AppRequest, state_type: type[S]) -> tuple[S, str, str]:
    """(state, scanned code, idempotency key) from a posted screen form."""
    form = await request.form()
    fields = {name: form.get(name) for name in state_type.__struct_fields__ if form.get(name) not in (None, "")}
    try:
        state = msgspec.convert(fields, state_type, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"That entry is not valid: {exc}") from exc
    code = str(form.get("code") or "").strip()
    if len(code) > SCAN_LENGTH_MAX:
        raise InvalidInput("That scan is too long to be a barcode. Scan again.")
    return state, code, floor_key(request, str(form.get("key") or new_key()))


@dataclass(frozen=True, slots=True)
class Step(Generic[S]):
    """One answer of a task screen: its state, the scan (or ""), the key, the button pressed ("" for a
    scan or an Enter) and the states before the scans not yet sent (`undo`, newest last, JSON)."""

    state: S
    code: str
    key: str
    action: str
    history: tuple[str, ...]


async def read_step(request: AppRequest, state_type: type[S]) -> Step[S]:
    state, code, key = await read_form(request, state_type)
    form = await request.form()
    raw = str(form.get("undo") or "")
    try:
        history = tuple(str(h) for h in json.loads(raw)) if raw and len(raw) <= UNDO_LENGTH_MAX else ()
    except (ValueError, TypeError):
        history = ()
    if isinstance(state, Tally):
        state = typed_qty(state)  # a Tally subtype stays its own type
    return Step(state, code, key, str(form.get("action") or ""), history[-UNDO_DEPTH_MAX:])


def remember(step: Step[S], before: S | None = None) -> str:
    """The undo field after this scan: the state before it (default: the step's own) on top."""
    encoded = msgspec.json.encode(step.state if before is None else before).decode()
    return json.dumps([*step.history, encoded][-UNDO_DEPTH_MAX:])


def forget(step: Step[S]) -> str:
    """The undo field as it came (an answer that changed nothing)."""
    return json.dumps(list(step.history)) if step.history else ""


def take_back(step: Step[S], entry_type: type[E]) -> tuple[E, str] | None:
    """The last undo entry (the state before the last scan, or what that scan did) and the undo field
    under it; None when nothing is left to undo."""
    if not step.history:
        return None
    try:
        entry = msgspec.json.decode(step.history[-1], type=entry_type)
    except msgspec.ValidationError:
        return None
    rest = list(step.history[:-1])
    return entry, json.dumps(rest) if rest else ""


def limits(request: AppRequest) -> Settings:
    return settings_of(request)


def check_scan_qty(request: AppRequest, qty: int, what: str) -> None:
    """One scan or one typed quantity stands for at most STOCKLINE_SCAN_QTY_MAX units."""
    if qty < 0:
        raise InvalidQuantity(f"{what}: {qty} is not a quantity. Type a number of units.")
    most = limits(request).scan_qty_max
    if qty > most:
        raise InvalidQuantity(f"{what}: {qty:,} is more than {most:,}, the most one scan or entry may be. "
                              "Check the quantity.")


def check_line_qty(request: AppRequest, qty: int, sku: str) -> None:
    """One line (a receipt, move, putaway or adjustment) adds up to at most STOCKLINE_LINE_QTY_MAX units."""
    most = limits(request).line_qty_max
    if qty > most:
        raise InvalidQuantity(f"{qty:,} {sku} is more than {most:,}, the most one line may be. "
                              "Split it, or ask a lead.")


def needs_confirming(request: AppRequest, qty: int, target: str, confirmed: str) -> bool:
    """A line above STOCKLINE_CONFIRM_QTY_OVER is sent only once its target was scanned twice."""
    return qty > limits(request).confirm_qty_over and confirmed != target


def unknown_code(code: str) -> str:
    """What to say about a code that names no bin and no item."""
    return f"Code {code} is not known: it is no item, bin or order label in Stockline. Check the label."


def floor_key(request: AppRequest, key: str) -> str:
    """The idempotency key of a screen's form, in the signed-in user's own namespace."""
    return scoped_key(f"floor:{session_of(request).user.id}", key)


def screen(request: AppRequest, page: str, partial: str, prompt: str, **context: Any) -> Template:
    """The full page, or only the partial for htmx (same template either way). `prompt` tells the
    worker what to scan next; htmx updates it out of band, the scan field itself is never swapped."""
    context.setdefault("key", new_key())
    htmx = bool(request.headers.get("hx-request"))
    context.update(prompt=prompt, oob_prompt=htmx)
    template = partial if htmx else page
    return Template(template_name=template, context={"partial": partial, **context}, headers={"Vary": "HX-Request"})


async def scan_bin(code: str) -> LocationView | None:
    """The bin a code names; None when it names no location (it may be an item)."""
    loc = await find_scanned_location(code)
    if loc is None:
        return None
    if loc.kind != "bin":
        raise InvalidInput(f"{loc.code} is a {loc.kind} location, not a bin. Scan a bin label.")
    return loc


class Tally(msgspec.Struct):
    """Scans of one item (and lot) so far: what receive, move and putaway add up. `sku`, `qty` and `lot` are
    what the screen shows; `items` is what the worker did (JSON: each code as scanned, each quantity
    typed), which the step's envelope carries for the server to interpret (backend/domain/scans);
    `shown` is the quantity the screen showed, so a different one posted back was typed."""

    sku: str = ""
    qty: int = 0
    lot: str = ""
    items: str = ""
    shown: int = 0


def entries(state: Tally) -> list[scans.Entry]:
    """The item scans and typed quantities of the line so far, oldest first. A form that has a tally but
    no scans (rendered before screens kept them) stands for its SKU typed on the keypad and its quantity."""
    if not state.items:
        return [state.sku, state.qty] if state.sku and state.qty > 0 else []
    try:
        found = msgspec.json.decode(state.items, type=list[str | int])
    except msgspec.ValidationError as exc:
        raise InvalidInput("The scans of this line could not be read. Tap Cancel and scan again.") from exc
    if len(found) > scans.ENTRIES_MAX:
        raise InvalidInput(f"At most {scans.ENTRIES_MAX} scans make one line. Send this one, then scan the rest.")
    return found


def _with_entry(state: T, entry: scans.Entry) -> str:
    return msgspec.json.encode([*entries(state), entry]).decode()


def typed_qty(state: T) -> T:
    """A quantity field changed since the screen showed it: the worker typed the line's total."""
    if not state.items or state.qty == state.shown or state.qty < 1:
        return state
    return msgspec.structs.replace(state, items=_with_entry(state, state.qty), shown=state.qty)


def add_scan(state: T, scanned: ScannedItem, code: str) -> T:
    """The tally with one more scan: it adds up only for the same item and lot (the interpreter's own rule,
    scans.refuse_other_line); the code joins the line's entries as scanned."""
    if not state.sku or state.qty <= 0:
        return msgspec.structs.replace(state, sku=scanned.item.sku, qty=scanned.qty_base, lot=scans.lot_of(scanned),
                                       items=msgspec.json.encode([code]).decode(), shown=scanned.qty_base)
    scans.refuse_other_line(state.sku, state.qty, state.lot, scanned)
    qty = state.qty + scanned.qty_base
    return msgspec.structs.replace(state, qty=qty, lot=scans.lot_of(scanned) or state.lot,
                                   items=_with_entry(state, code), shown=qty)


async def scan_item(code: str) -> ScannedItem:
    """An item barcode (any unit, GS1), or a SKU typed on the keypad: one statement."""
    found = (await resolve_item_codes([code])).get(code.strip())
    if found is None:
        raise UnknownBarcode(code)
    return found


async def find_scanned_item(code: str) -> ScannedItem | None:
    """The item a code names, or None when it names none (a lot number, a bin, a typo)."""
    try:
        return await scan_item(code)
    except (UnknownBarcode, InvalidBarcode):
        return None


class Envelope(msgspec.Struct, frozen=True):
    """What the screen hands to the outbox (web/static/outbox.js flowSettled): the kind and the step as the
    worker made it (backend/domain/scans, the envelope's payload), the words to show once the server
    applied it, and where to reload the screen's state from if the server's answer is anything else.
    The screen checked the step with reads only (scans.check_*); the outbox's envelope is what posts it,
    through the same interpreter that applies offline scans."""

    kind: str
    payload: str  # JSON, exactly the step struct of backend/domain/scans
    ok: str
    refresh: str = ""


def envelope(kind: str, payload: scans.Step, ok: str, refresh: str = "") -> Envelope:
    assert isinstance(payload, scans.STEP_TYPES[kind]), kind
    return Envelope(kind=kind, payload=msgspec.json.encode(payload).decode(), ok=ok, refresh=refresh)
