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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from litestar.response import Template

from backend import db
from backend.domain.catalog.service import ScannedItem, find_item, resolve_item_scan
from backend.domain.errors import (
    InvalidBarcode,
    InvalidInput,
    InvalidQuantity,
    UnknownBarcode,
)
from backend.domain.idempotency import scoped_key
from backend.domain.locations.service import (
    LocationView,
    find_by_barcode,
    find_location,
)
from backend.http.connection import AppRequest, settings_of
from backend.http.session import session_of
from backend.settings import Settings
from sync.envelopes import Payload

S = TypeVar("S", bound=msgspec.Struct)
E = TypeVar("E", bound=msgspec.Struct)  # what an undo entry holds (a screen's state, or what one scan did)
T = TypeVar("T", bound="Tally")
R = TypeVar("R")
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
    loc = await find_by_barcode(code) or await find_location(code)
    if loc is None:
        return None
    if loc.kind != "bin":
        raise InvalidInput(f"{loc.code} is a {loc.kind} location, not a bin. Scan a bin label.")
    return loc


class Tally(msgspec.Struct):
    """Scans of one item (and lot) so far: what receive, move and putaway add up."""

    sku: str = ""
    qty: int = 0
    lot: str = ""


def add_scan(state: T, scanned: ScannedItem) -> T:
    """Repeated scans add up only for the same item and lot. Another item is refused while a tally waits
    (it would silently drop what was scanned), and so is another lot of the same item, so two lots are
    never posted as one."""
    if not state.sku or state.qty <= 0:
        return msgspec.structs.replace(state, sku=scanned.item.sku, qty=scanned.qty_base, lot=scanned.lot)
    if scanned.item.sku != state.sku:
        raise InvalidInput(f"{state.sku} × {state.qty} is not sent yet. Finish it, or tap Cancel, before "
                           f"scanning {scanned.item.sku}.")
    if scanned.lot and state.lot and scanned.lot != state.lot:
        raise InvalidInput(f"Finish or clear {state.sku} lot {state.lot} before scanning lot {scanned.lot}.")
    return msgspec.structs.replace(state, qty=state.qty + scanned.qty_base, lot=scanned.lot or state.lot)


async def scan_item(code: str) -> ScannedItem:
    """An item barcode (any unit, GS1), or a SKU typed on the keypad."""
    try:
        return await resolve_item_scan(code)
    except UnknownBarcode:
        item = await find_item(code)
        if item is None:
            raise UnknownBarcode(code) from None
        return ScannedItem(item=item, unit=item.base_unit, factor=1, count=1)


async def find_scanned_item(code: str) -> ScannedItem | None:
    """The item a code names, or None when it names none (a lot number, a bin, a typo)."""
    try:
        return await scan_item(code)
    except (UnknownBarcode, InvalidBarcode):
        return None


# --- a step that changes stock answers with an envelope, it does not post -----------------------------

class _Rehearsed(Exception):
    """Raised inside the rehearsal's transaction so that everything it wrote is rolled back."""


async def rehearse(work: Callable[[], Awaitable[R]]) -> R:
    """Run the command the step's envelope will run, and roll it all back: the worker hears now
    about an unknown item, a missing lot or stock that is not where they stand, with the domain's own
    message, and the screen can show the state the envelope will lead to. The outbox posts it
    (docs/offline-protocol.md: every stock change goes through the device's outbox)."""
    done: list[R] = []

    async def attempt() -> R:
        done.append(await work())
        raise _Rehearsed

    try:
        await db.run_in_transaction(attempt)
    except _Rehearsed:
        return done[-1]
    raise AssertionError("a rehearsal always rolls back")


class Envelope(msgspec.Struct, frozen=True):
    """What the screen hands to the outbox (web/static/outbox.js flowSettled): the kind and payload of
    sync/envelopes.py, the words to show once the server applied it, and where to reload the screen's
    state from if the server's answer is anything else."""

    kind: str
    payload: str  # JSON, exactly the payload struct of sync/envelopes.py
    ok: str
    refresh: str = ""


def envelope(kind: str, payload: Payload, ok: str, refresh: str = "") -> Envelope:
    return Envelope(kind=kind, payload=msgspec.json.encode(payload).decode(), ok=ok, refresh=refresh)
