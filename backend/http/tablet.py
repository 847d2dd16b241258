"""Manager and lead screens on a tablet: approvals, orders and pick lists, users, stock search."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend import db
from backend.domain import counts
from backend.domain.auth import users
from backend.domain.auth.permissions import ROLES, allows
from backend.domain.catalog.service import list_items
from backend.domain.errors import Conflict, DomainError, InvalidInput, NotPermitted
from backend.domain.fulfillment import service as f
from backend.domain.fulfillment.scans import find_item_scan
from backend.domain.idempotency import derived_key
from backend.domain.ledger.stock_search import stock_rows
from backend.domain.locations.service import (
    find_by_barcode,
    find_location,
    list_locations,
)
from backend.http.connection import AppRequest, settings_of
from backend.http.floor.common import floor_key, new_key
from backend.http.session import actor, requires, session_of

STOCK_PAGE_ROWS = 50
STOCK_PAGES_MAX = 1_000
SEARCH_ITEMS_MAX = 500
ORDER_LINES_MAX = 50


def _page(template: str, title: str, **context: Any) -> Template:
    return Template(template_name=template, context={"title": title, "key": new_key(), **context},
                    headers={"Vary": "HX-Request"})


def error_status(exc: DomainError) -> int:
    """The status of a tablet form shown again with its error inline (the one mapper's classes)."""
    return 403 if isinstance(exc, NotPermitted) else 409 if isinstance(exc, Conflict) else 422


async def _form(request: AppRequest) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


async def _approvals(request: AppRequest, status: int = 200, **context: Any) -> Template:
    page = _page("tablet/approvals.html", "Approvals", queue=await counts.approvals_queue(),
                 shorts=await f.short_picks(), **context)
    page.status_code = status
    return page


@get("/tablet/approvals", name="tablet_approvals", guards=[requires("approvals_view")])
async def approvals(request: AppRequest) -> Template:
    return await _approvals(request)


async def _needs_confirming(request: AppRequest, kind: str, entry_id: int, form: dict[str, str]) -> str:
    """A decision that changes more value than STOCKLINE_APPROVAL_CONFIRM_VALUE_CENTS is taken only when
    the manager approved again with that very value on screen; the warning to show, or ""."""
    most = settings_of(request).approval_confirm_value_cents
    entry = next((e for e in await counts.approvals_queue() if (e.kind, e.id) == (kind, entry_id)), None)
    if entry is None or entry.value_cents <= most or form.get("confirm_value") == str(entry.value_cents):
        return ""
    skipped = f" {entry.not_counted} item(s) were not counted." if entry.not_counted else ""
    return (f"{kind.title()} #{entry_id} changes {entry.units:+,} units worth {entry.value_cents / 100:,.2f}.{skipped}"
            " Check it, then tap Yes, approve.")


@post("/tablet/approvals/{kind:str}/{entry_id:int}", name="tablet_decide", guards=[requires("approve")])
async def decide(request: AppRequest, kind: FromPath[str], entry_id: FromPath[int]) -> Template:
    """Approve, reject, or (a count) ask for a recount: a new blind count of the bin by another counter."""
    form = await _form(request)
    key, who, note = floor_key(request, form.get("key") or new_key()), actor(request), form.get("note", "")
    decision = form.get("decision", "")
    if kind not in ("count", "adjustment"):
        raise InvalidInput("Only counts and adjustments wait for approval.")
    typed = {"entry": (kind, entry_id), "note": note}
    try:
        if decision == "approve":
            warning = await _needs_confirming(request, kind, entry_id, form)
            if warning:
                return await _approvals(request, warn=warning, confirm=(kind, entry_id), typed=typed)
            await (counts.approve_count(entry_id, key, who) if kind == "count"
                   else counts.approve_adjustment(entry_id, key, who))
            done = f"{kind.title()} #{entry_id} approved."
        elif decision == "recount" and kind == "count":
            outcome = await counts.reject_count(entry_id, key, who, note or "Recount asked for.", recount=True)
            done = (f"Count #{entry_id} set aside: recount #{outcome.recount_task_id} of the bin waits for another "
                    "counter.")
        else:
            await (counts.reject_count(entry_id, key, who, note, recount=False) if kind == "count"
                   else counts.reject_adjustment(entry_id, key, who, note))
            done = f"{kind.title()} #{entry_id} rejected."
    except DomainError as exc:  # shown next to the entry, with the note as typed
        return await _approvals(request, status=error_status(exc), error=exc.message, typed=typed)
    return await _approvals(request, ok=done)


async def _orders(request: AppRequest, status: int = 200, typed: dict[str, str] | None = None,
                  **context: Any) -> Template:
    warehouses = await list_locations(kind="warehouse")
    typed = typed or {"warehouse": warehouses[0].code if len(warehouses) == 1 else ""}
    page = _page("tablet/orders.html", "Orders & pick lists", pick_lists=await f.list_open_pick_lists(),
                 warehouses=warehouses, typed=typed, **context)
    page.status_code = status
    return page


@get("/tablet/orders", name="tablet_orders", guards=[requires("create_pick_list")])
async def orders(request: AppRequest) -> Template:
    return await _orders(request)


def _order_lines(text: str) -> list[f.OrderLineSpec]:
    lines = []
    for n, raw in enumerate(filter(None, (r.strip() for r in text.splitlines())), start=1):
        sku, _, qty = raw.rpartition(" ")
        if not sku or not qty.strip().isdigit() or n > ORDER_LINES_MAX:
            raise InvalidInput(f"Line {n} must be 'SKU quantity', e.g. 'MUG 3' (at most {ORDER_LINES_MAX} lines).")
        lines.append(f.OrderLineSpec(sku=sku.strip(), qty=int(qty)))
    return lines


@post("/tablet/orders", name="tablet_order_create", guards=[requires("create_pick_list")])
async def create_order(request: AppRequest) -> Template:
    """A manual order (lines 'SKU qty', one per line) from the chosen warehouse is reserved at once and gets
    a pick list. An error shows above the form, with everything typed still in it."""
    form = await _form(request)
    key, who = floor_key(request, form.get("key") or new_key()), actor(request)
    typed = {"order_ref": form.get("order_ref", ""), "lines": form.get("lines", ""),
             "warehouse": form.get("warehouse", "")}
    try:
        spec = f.NewManualOrder(order_ref=typed["order_ref"], lines=_order_lines(typed["lines"]),
                                warehouse=typed["warehouse"])

        async def order_and_pick_list() -> tuple[f.OrderView, f.PickListView]:
            order = await f.create_manual_order(spec, key=derived_key(key, "order"), actor=who)
            return order, await f.create_pick_list(order.order_ref, key=derived_key(key, "pick"), actor=who)

        # One transaction (each command becomes a savepoint): an order whose pick list is refused is not kept.
        order, pick_list = await db.run_in_transaction(order_and_pick_list)
    except DomainError as exc:
        return await _orders(request, status=error_status(exc), typed=typed, error=exc.message, key=form.get("key"))
    backordered = sum(line.backordered_qty for line in order.lines)
    msg = f"Order {order.order_ref} reserved; pick list #{pick_list.id}."
    return await _orders(request, ok=msg + (f" {backordered} unit(s) backordered." if backordered else ""))


@get("/tablet/users", name="tablet_users", guards=[requires("users_view")])
async def users_page(request: AppRequest) -> Template:
    return await _users(request)


async def _users(request: AppRequest, status: int = 200, typed: dict[str, str] | None = None,
                 **context: Any) -> Template:
    """Everyone who may see users sees the list; only who may manage them gets the controls to."""
    may_manage = allows(session_of(request).user.role, "users_manage")
    page = _page("tablet/users.html", "Users", users=await users.list_users(), roles=ROLES, may_manage=may_manage,
                 typed=typed or {}, **context)
    page.status_code = status
    return page


@post("/tablet/users", name="tablet_user_create", guards=[requires("users_manage")])
async def create_user(request: AppRequest) -> Template | Redirect:
    form = await _form(request)
    typed = {"code": form.get("code", ""), "name": form.get("name", ""), "role": form.get("role", "")}
    try:
        await users.create_user(typed["code"], typed["name"], typed["role"], form.get("pin", ""), actor(request))
    except DomainError as exc:  # the PIN is never shown again
        return await _users(request, status=error_status(exc), typed=typed, error=exc.message)
    return await _users(request, ok=f"User {typed['code'].strip()} created.")


@post("/tablet/users/{user_id:int}/role", name="tablet_user_role", guards=[requires("users_manage")])
async def set_role(request: AppRequest, user_id: FromPath[int]) -> Template:
    form = await _form(request)
    try:
        await users.set_role(user_id, form.get("role", ""), actor(request))
    except DomainError as exc:
        return await _users(request, status=error_status(exc), error=exc.message)
    return await _users(request, ok="Role saved.")


@get("/tablet/stock", name="tablet_stock", guards=[requires("stock_search")])
async def stock_search(request: AppRequest, q: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    """Find stock by SKU, barcode, bin or name: one row per item, bin and lot, with on hand, reserved and
    available, STOCK_PAGE_ROWS at a time."""
    q, page = q.strip(), max(1, min(page, STOCK_PAGES_MAX))
    if not q:
        return _page("tablet/stock.html", "Stock search", q="", rows=[], page=1, more=False, found="")
    loc = await find_by_barcode(q) or await find_location(q)
    item_ids: list[int] | None = None
    if loc is not None:
        found = f"{loc.kind} {loc.code}"
    else:
        scanned = await find_item_scan(q)
        items = [scanned.item] if scanned else await list_items(query=q, limit=SEARCH_ITEMS_MAX)
        found = f"item {scanned.item.sku}" if scanned else f"{len(items)} item(s) matching {q!r}"
        item_ids = [i.id for i in items]
    rows = await stock_rows(item_ids=item_ids, location_id=loc.id if loc is not None else 0,
                            offset=(page - 1) * STOCK_PAGE_ROWS, limit=STOCK_PAGE_ROWS + 1)
    return _page("tablet/stock.html", "Stock search", q=q, rows=rows[:STOCK_PAGE_ROWS], page=page,
                 more=len(rows) > STOCK_PAGE_ROWS, found=found, first=(page - 1) * STOCK_PAGE_ROWS + 1)


ROUTES = [approvals, decide, orders, create_order, users_page, create_user, set_role, stock_search]
