"""Shared plumbing for scan-driven screens.

A screen is one form: hidden fields carry the step's state, the scan field carries the new
scan, `key` carries the idempotency key of the action the form will post. Each POST returns
the same partial with the next step; errors go through the one error mapper, which swaps a
message into #feedback so the half-done state on screen is kept.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.response import Template

from backend.domain.catalog.service import ScannedItem, find_item, resolve_item_scan
from backend.domain.errors import InvalidInput, UnknownBarcode
from backend.domain.locations.service import LocationView, find_by_barcode, find_location

S = TypeVar("S", bound=msgspec.Struct)
SCAN_LENGTH_MAX = 200


def new_key() -> str:
    return uuid.uuid4().hex


async def read_form(request: Request, state_type: type[S]) -> tuple[S, str, str]:
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
    return state, code, str(form.get("key") or new_key())


def screen(request: Request, page: str, partial: str, prompt: str, **context: Any) -> Template:
    """The full page, or only the partial for htmx (same template either way). `prompt` tells the
    worker what to scan next; htmx updates it out of band, the scan field itself is never swapped."""
    context.setdefault("key", new_key())
    htmx = bool(request.headers.get("hx-request"))
    context.update(prompt=prompt, oob_prompt=htmx)
    template = partial if htmx else page
    return Template(template_name=template, context={"partial": partial, **context}, headers={"Vary": "HX-Request"})


async def scan_bin(code: str) -> LocationView | None:
    loc = await find_by_barcode(code) or await find_location(code)
    return loc if loc is not None and loc.holds_stock else None


async def scan_item(code: str) -> ScannedItem:
    """An item barcode (any unit, GS1), or a SKU typed on the keypad."""
    try:
        return await resolve_item_scan(code)
    except UnknownBarcode:
        item = await find_item(code)
        if item is None:
            raise
        return ScannedItem(item=item, unit=item.base_unit, factor=1, count=1)
