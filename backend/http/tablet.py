"""Manager and lead screens on a tablet: approvals, orders and pick lists, users, stock search."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend import db
from backend.domain import counts
from backend.domain.auth import users
from backend.domain.auth.permissions import ROLES
from backend.domain.catalog.service import list_items
from backend.domain.errors import InvalidInput
from backend.domain.fulfillment import service as f
from backend.domain.ledger import queries
from backend.http.floor.common import floor_key, new_key
from backend.http.session import actor, requires

SEARCH_ROWS_MAX = 50
ORDER_LINES_MAX = 50


def _page(template: str, title: str, **context) -> Template:
    return Template(template_name=template, context={"title": title, "key": new_key(), **context},
                    headers={"Vary": "HX-Request"})


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


@get("/tablet/approvals", name="tablet_approvals", guards=[requires("approvals_view")])
async def approvals(request: Request) -> Template:
    return _page("tablet/approvals.html", "Approvals", queue=await counts.approvals_queue(),
                 shorts=await f.short_picks())


@post("/tablet/approvals/{kind:str}/{entry_id:int}", name="tablet_decide", guards=[requires("approve")])
async def decide(request: Request, kind: FromPath[str], entry_id: FromPath[int]) -> Template:
    form = await _form(request)
    key, who, note = floor_key(request, form.get("key") or new_key()), actor(request), form.get("note", "")
    approve = form.get("decision") == "approve"
    if kind == "count":
        await (counts.approve_count(entry_id, key, who) if approve else counts.reject_count(entry_id, key, who, note))
    elif kind == "adjustment":
        if approve:
            await counts.approve_adjustment(entry_id, key, who)
        else:
            await counts.reject_adjustment(entry_id, key, who, note)
    else:
        raise InvalidInput("Only counts and adjustments wait for approval.")
    done = f"{kind.title()} #{entry_id} {'approved' if approve else 'rejected'}."
    return _page("tablet/approvals.html", "Approvals", queue=await counts.approvals_queue(),
                 shorts=await f.short_picks(), ok=done)


@get("/tablet/orders", name="tablet_orders", guards=[requires("create_pick_list")])
async def orders(request: Request) -> Template:
    return _page("tablet/orders.html", "Orders & pick lists", pick_lists=await f.list_open_pick_lists())


@post("/tablet/orders", name="tablet_order_create", guards=[requires("create_pick_list")])
async def create_order(request: Request) -> Template:
    """A manual order (lines 'SKU qty', one per line) is reserved at once and gets a pick list."""
    form = await _form(request)
    key, who = floor_key(request, form.get("key") or new_key()), actor(request)
    lines = []
    for n, raw in enumerate(filter(None, (r.strip() for r in form.get("lines", "").splitlines())), start=1):
        sku, _, qty = raw.rpartition(" ")
        if not sku or not qty.strip().isdigit() or n > ORDER_LINES_MAX:
            raise InvalidInput(f"Line {n} must be 'SKU quantity', e.g. 'MUG 3' (at most {ORDER_LINES_MAX} lines).")
        lines.append(f.OrderLineSpec(sku=sku.strip(), qty=int(qty)))
    spec = f.NewManualOrder(order_ref=form.get("order_ref", ""), lines=lines)

    async def order_and_pick_list() -> tuple[f.OrderView, f.PickListView]:
        order = await f.create_manual_order(spec, key=f"{key}:order", actor=who)
        return order, await f.create_pick_list(order.order_ref, key=f"{key}:pick", actor=who)

    # One transaction (each command becomes a savepoint): an order whose pick list is refused is not kept.
    order, pick_list = await db.run_in_transaction(order_and_pick_list)
    backordered = sum(line.backordered_qty for line in order.lines)
    msg = f"Order {order.order_ref} reserved; pick list #{pick_list.id}."
    return _page("tablet/orders.html", "Orders & pick lists", pick_lists=await f.list_open_pick_lists(),
                 ok=msg + (f" {backordered} unit(s) backordered." if backordered else ""))


@get("/tablet/users", name="tablet_users", guards=[requires("users_view")])
async def users_page(request: Request) -> Template:
    return _page("tablet/users.html", "Users", users=await users.list_users(), roles=ROLES)


@post("/tablet/users", name="tablet_user_create", guards=[requires("users_manage")])
async def create_user(request: Request) -> Redirect:
    form = await _form(request)
    await users.create_user(form.get("code", ""), form.get("name", ""), form.get("role", ""), form.get("pin", ""),
                            actor(request))
    return Redirect(path=request.app.route_reverse("tablet_users"), status_code=303)


@post("/tablet/users/{user_id:int}/role", name="tablet_user_role", guards=[requires("users_manage")])
async def set_role(request: Request, user_id: FromPath[int]) -> Redirect:
    form = await _form(request)
    await users.set_role(user_id, form.get("role", ""), actor(request))
    return Redirect(path=request.app.route_reverse("tablet_users"), status_code=303)


@get("/tablet/stock", name="tablet_stock", guards=[requires("stock_search")])
async def stock_search(request: Request, q: FromQuery[str] = "") -> Template:
    items = await list_items(query=q.strip(), limit=SEARCH_ROWS_MAX) if q.strip() else []
    rows = [(item, await queries.available_to_sell(item)) for item in items]
    return _page("tablet/stock.html", "Stock search", q=q, rows=rows)


ROUTES = [approvals, decide, orders, create_order, users_page, create_user, set_role, stock_search]
