"""Tablet screens for purchasing: suppliers (create, edit, the items each sells us) and purchase orders
(by status, one order with ordered / received / open per line; a draft's lines changed; send, cancel after a
confirmation, close). Managers and admins (`purchasing_manage`). Each handler parses, calls one command, renders."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.domain import bounds
from backend.domain import purchasing as p
from backend.domain.catalog.service import get_item
from backend.domain.errors import InvalidInput, InvalidQuantity
from backend.domain.locations.service import get_location, list_locations
from backend.http.floor.common import floor_key, new_key
from backend.http.session import actor, requires

S = TypeVar("S", bound=msgspec.Struct)
AnyRequest = Request[Any, Any, Any]
LIST_ROWS = 100
DRAFT_TEXT_LINES_MAX = 200
_OK_LENGTH_MAX = 200
_MANAGE = [requires("purchasing_manage")]


def _page(template: str, title: str, **context: Any) -> Template:
    return Template(template_name=template, context={"title": title, "key": new_key(), "money": p.format_minor,
                                                     "words": p.status_words, **context})


async def _form(request: AnyRequest) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


def _key(request: AnyRequest, form: dict[str, str]) -> str:
    return floor_key(request, form.get("key") or new_key())


def _convert(fields: dict[str, Any], type_: type[S], what: str) -> S:
    try:
        return msgspec.convert(fields, type_, strict=False)
    except msgspec.ValidationError as exc:
        field, sentence = bounds.explain(exc)
        raise InvalidInput(f"{what}: {field} {sentence}." if field else f"{what}: {sentence}.") from exc


def _supplier_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: form[k].strip() for k in ("name", "currency", "email", "note") if k in form}
    fields["currency"] = fields.get("currency", "").upper()
    for number in ("lead_time_days", "moq", "case_pack"):
        if form.get(number, "").strip():
            fields[number] = form[number].strip()
    fields["active"] = form.get("active") == "yes"
    return fields


def _redirect(request: AnyRequest, name: str, ok: str, **params: int) -> Redirect:
    path = request.app.route_reverse(name, **params)
    return Redirect(path=path, query_params={"ok": ok[:_OK_LENGTH_MAX]}, status_code=303)


# --- suppliers -------------------------------------------------------------------------------------

@get("/tablet/suppliers", name="tablet_suppliers", guards=_MANAGE)
async def supplier_list(ok: FromQuery[str] = "") -> Template:
    return _page("tablet/suppliers.html", "Suppliers", suppliers=await p.list_suppliers(), ok=ok[:_OK_LENGTH_MAX])


@post("/tablet/suppliers", name="tablet_supplier_create", guards=_MANAGE)
async def supplier_create(request: AnyRequest) -> Redirect:
    form = await _form(request)
    spec = _convert({**_supplier_fields(form), "code": form.get("code", "").strip(), "active": True},
                    p.NewSupplier, "Supplier")
    made = await p.create_supplier(spec, actor=actor(request), key=_key(request, form))
    return _redirect(request, "tablet_supplier", f"Supplier {made.code} saved.", supplier_id=made.id)


@get("/tablet/suppliers/{supplier_id:int}", name="tablet_supplier", guards=_MANAGE)
async def supplier_page(supplier_id: FromPath[int], ok: FromQuery[str] = "") -> Template:
    supplier = await p.get_supplier(supplier_id)
    return _page("tablet/supplier.html", f"Supplier {supplier.code}", supplier=supplier,
                 items=await p.supplier_items(supplier_id=supplier_id),
                 orders=await p.list_orders(supplier_id=supplier_id, limit=20), ok=ok[:_OK_LENGTH_MAX])


@post("/tablet/suppliers/{supplier_id:int}", name="tablet_supplier_update", guards=_MANAGE)
async def supplier_update(request: AnyRequest, supplier_id: FromPath[int]) -> Redirect:
    form = await _form(request)
    spec = _convert(_supplier_fields(form), p.SupplierSpec, "Supplier")
    saved = await p.update_supplier(supplier_id, spec, actor=actor(request), key=_key(request, form))
    return _redirect(request, "tablet_supplier", f"Supplier {saved.code} saved.", supplier_id=saved.id)


@post("/tablet/suppliers/{supplier_id:int}/items", name="tablet_supplier_item", guards=_MANAGE)
async def supplier_item(request: AnyRequest, supplier_id: FromPath[int]) -> Redirect:
    form = await _form(request)
    supplier = await p.get_supplier(supplier_id)
    fields: dict[str, Any] = {"sku": form.get("sku", "").strip(), "supplier_sku": form.get("supplier_sku", "").strip(),
                              "unit_cost_minor": p.parse_major(form.get("unit_cost", ""), supplier.currency),
                              "preferred": form.get("preferred") == "yes"}
    for number in ("moq", "case_pack", "lead_time_days"):
        if form.get(number, "").strip():
            fields[number] = form[number].strip()
    link = await p.link_supplier_item(supplier_id, _convert(fields, p.SupplierItemSpec, "Supplier item"),
                                      actor=actor(request), key=_key(request, form))
    return _redirect(request, "tablet_supplier", f"{link.sku} from {supplier.code} saved.", supplier_id=supplier_id)


# --- purchase orders -------------------------------------------------------------------------------

@get("/tablet/purchase-orders", name="tablet_purchase_orders", guards=_MANAGE)
async def order_list(status: FromQuery[str] = "", ok: FromQuery[str] = "") -> Template:
    chosen = next((s for s in p.PO_STATUSES if s == status), None)
    if status and chosen is None:
        raise InvalidInput(f"Status is one of {', '.join(p.PO_STATUSES)}, or empty for all.")
    rows = await p.list_orders(chosen, limit=LIST_ROWS)
    return _page("tablet/purchase_orders.html", "Purchase orders", orders=rows, status=status,
                 statuses=p.PO_STATUSES, suppliers=await p.list_suppliers(active_only=True),
                 warehouses=await list_locations("warehouse"), ok=ok[:_OK_LENGTH_MAX])


@post("/tablet/purchase-orders", name="tablet_purchase_order_create", guards=_MANAGE)
async def order_create(request: AnyRequest) -> Redirect:
    form = await _form(request)
    supplier = await p.find_supplier(form.get("supplier", ""))
    if supplier is None:
        raise InvalidInput("Choose the supplier to order from.")
    warehouse = await get_location(form.get("warehouse", ""))
    lines = await _draft_lines(form.get("lines", ""))
    order = _convert({"supplier_id": supplier.id, "warehouse_id": warehouse.id, "lines": lines,
                      "note": form.get("note", "").strip()}, p.DraftOrder, "Purchase order")
    [po_id] = await p.create_draft_orders([order], actor=actor(request), key=_key(request, form))
    return _redirect(request, "tablet_purchase_order", f"Draft {p.po_number(po_id)} saved: check it, then send it.",
                     po_id=po_id)


async def _draft_lines(text: str) -> list[dict[str, int]]:
    """'SKU quantity' per line, as a manager types or pastes them."""
    rows = [row.split() for row in text.splitlines() if row.strip()]
    if not rows:
        raise InvalidInput("Type one line per item: the SKU, a space, the quantity (e.g. MUG-BLUE 48).")
    if len(rows) > DRAFT_TEXT_LINES_MAX:
        raise InvalidInput(f"At most {DRAFT_TEXT_LINES_MAX} lines per purchase order from this form.")
    lines = []
    for row in rows:
        if len(row) != 2 or not row[1].isdigit():
            raise InvalidQuantity(f"{' '.join(row)!r}: type the SKU, a space, then a whole quantity.")
        lines.append({"item_id": (await get_item(row[0])).id, "qty": int(row[1])})
    return lines


@get("/tablet/purchase-orders/{po_id:int}", name="tablet_purchase_order", guards=_MANAGE)
async def order_page(po_id: FromPath[int], ok: FromQuery[str] = "") -> Template:
    po = await p.get_order(po_id)
    return _page("tablet/purchase_order.html", po.number, po=po, ok=ok[:_OK_LENGTH_MAX],
                 cancellable=po.status in p.CANCELLABLE and not po.qty_received, closable=po.status in p.CLOSABLE)


@post("/tablet/purchase-orders/{po_id:int}/send", name="tablet_purchase_order_send", guards=_MANAGE)
async def order_send(request: AnyRequest, po_id: FromPath[int]) -> Redirect:
    form = await _form(request)
    expected = form.get("expected_on", "").strip()
    try:
        expected_on = date.fromisoformat(expected) if expected else None
    except ValueError as exc:
        raise InvalidInput(f"Expected on {expected!r} is not a date (YYYY-MM-DD).") from exc
    po = await p.send_order(po_id, actor=actor(request), key=_key(request, form), expected_on=expected_on)
    due = f", expected {po.expected_at:%Y-%m-%d}" if po.expected_at else ""
    return _redirect(request, "tablet_purchase_order", f"{po.number} sent to {po.supplier_name}{due}.", po_id=po_id)


@post("/tablet/purchase-orders/{po_id:int}/cancel", name="tablet_purchase_order_cancel", guards=_MANAGE)
async def order_cancel(request: AnyRequest, po_id: FromPath[int]) -> Template | Redirect:
    """Asks first: the confirmation is a second form, so it holds without JavaScript too."""
    form = await _form(request)
    if form.get("confirmed") != "yes":
        po = await p.get_order(po_id)
        return _page("tablet/purchase_order.html", po.number, po=po, confirm_cancel=True, reason=form.get("reason", ""),
                     cancellable=True, closable=False,
                     warn=f"Cancel {po.number}? {po.supplier_name} will not deliver it. This cannot be undone.")
    po = await p.cancel_order(po_id, actor=actor(request), key=_key(request, form), reason=form.get("reason", ""))
    return _redirect(request, "tablet_purchase_order", f"{po.number} cancelled.", po_id=po_id)


@post("/tablet/purchase-orders/{po_id:int}/lines", name="tablet_purchase_order_line", guards=_MANAGE)
async def order_line(request: AnyRequest, po_id: FromPath[int]) -> Template | Redirect:
    """A draft's line added, changed, or removed with 0 (removing asks first, in a second form)."""
    form = await _form(request)
    sku, text = form.get("sku", "").strip(), form.get("qty", "").strip()
    if not text.isdigit():
        raise InvalidQuantity(f"Quantity {text!r}: type a whole number (0 removes the line).")
    qty = int(text)
    if qty == 0 and form.get("confirmed") != "yes":
        po = await p.get_order(po_id)
        return _page("tablet/purchase_order.html", po.number, po=po, confirm_remove=sku, cancellable=False,
                     closable=False, warn=f"Remove {sku} from {po.number}?")
    po = await p.set_draft_line(po_id, sku, qty, actor=actor(request), key=_key(request, form))
    done = f"{sku} removed from {po.number}." if qty == 0 else f"{sku}: {qty} on {po.number}."
    return _redirect(request, "tablet_purchase_order", done, po_id=po_id)


@post("/tablet/purchase-orders/{po_id:int}/close", name="tablet_purchase_order_close", guards=_MANAGE)
async def order_close(request: AnyRequest, po_id: FromPath[int]) -> Redirect:
    form = await _form(request)
    po = await p.close_order(po_id, actor=actor(request), key=_key(request, form))
    return _redirect(request, "tablet_purchase_order", f"{po.number} closed.", po_id=po_id)


ROUTES = [supplier_list, supplier_create, supplier_page, supplier_update, supplier_item, order_list, order_create,
          order_page, order_send, order_cancel, order_line, order_close]
