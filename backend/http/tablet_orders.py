"""Tablet screens for orders from every source: the order list (filters), one order with its timeline
and allocation reasons (a manager releases its holds here), waves, channels with their SKU mappings
and unmapped-SKU queue, and the webhook log. Each handler parses, calls one command, renders."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.domain import channels, orders
from backend.domain.errors import InvalidInput
from backend.http.connection import AppRequest
from backend.http.floor.common import floor_key, new_key
from backend.http.session import actor, requires
from jobs.dispatch import wake_order_import

LIST_ROWS = 50
LOG_ROWS = 100
_HOLD_FILTERS = {"": None, "yes": True, "no": False}


def _page(request: AppRequest, template: str, title: str, partial: str = "", **context: Any) -> Template:
    """The page, or for htmx the partial it includes (same template either way)."""
    chosen = partial if partial and request.headers.get("hx-request") else template
    return Template(template_name=chosen, context={"title": title, "key": new_key(), "partial": partial, **context},
                    headers={"Vary": "HX-Request"})


async def _form(request: AppRequest) -> dict[str, Any]:
    form = await request.form()
    return dict(form.items())


@get("/tablet/orders/all", name="tablet_order_list", guards=[requires("create_pick_list")])
async def order_list(request: AppRequest, status: FromQuery[str] = "", channel: FromQuery[str] = "",
                     hold: FromQuery[str] = "", cursor: FromQuery[str] = "") -> Template:
    if hold not in _HOLD_FILTERS:
        raise InvalidInput("Hold filter is yes, no or empty.")
    rows = await orders.list_orders(status=status, channel=channel.strip(), on_hold=_HOLD_FILTERS[hold],
                                    before_id=int(cursor) if cursor.isdigit() else 0, limit=LIST_ROWS + 1)
    more = len(rows) > LIST_ROWS
    return _page(request, "tablet/order_list.html", "Orders", "tablet/_order_rows.html", rows=rows[:LIST_ROWS],
                 next_cursor=rows[LIST_ROWS - 1].id if more else None, statuses=orders.STATUSES,
                 channels=await channels.list_channels(), f={"status": status, "channel": channel, "hold": hold})


@get("/tablet/orders/{order_id:int}", name="tablet_order_detail", guards=[requires("create_pick_list")])
async def order_detail(request: AppRequest, order_id: FromPath[int], ok: FromQuery[str] = "") -> Template:
    order = await orders.get_order_detail(order_id)
    return _page(request, "tablet/order_detail.html", f"Order {order.order_ref}", order=order, ok=ok[:200])


@post("/tablet/orders/{order_id:int}/release", name="tablet_order_release", guards=[requires("approve")])
async def release_order(request: AppRequest, order_id: FromPath[int]) -> Template:
    form = await _form(request)
    change = await orders.release_hold(order_id, str(form.get("note", "")),
                                       key=floor_key(request, str(form.get("key") or new_key())), actor=actor(request))
    order = await orders.get_order_detail(order_id)
    return _page(request, "tablet/order_detail.html", f"Order {order.order_ref}", order=order,
                 ok=f"Holds released; order {change.order_ref} is {change.status.replace('_', ' ')}.")


@post("/tablet/waves", name="tablet_waves", guards=[requires("create_pick_list")])
async def build_waves(request: AppRequest) -> Template:
    form = await _form(request)
    run = await orders.build_waves(warehouse=str(form.get("warehouse", "")),
                                   key=floor_key(request, str(form.get("key") or new_key())), actor=actor(request))
    lists = sum(len(w.pick_list_ids) for w in run.waves)
    return _page(request, "tablet/waves.html", "Waves", run=run,
                 ok=f"{len(run.waves)} wave(s): {run.orders} order(s), {lists} pick list(s).")


async def _channels_page(request: AppRequest, **extra: Any) -> Template:
    return _page(request, "tablet/channels.html", "Channels", channels=await channels.list_channels(),
                 unmapped=await orders.unmapped_lines(), kinds=channels.KINDS, **extra)


@get("/tablet/channels", name="tablet_channels", guards=[requires("approvals_view")])
async def channel_list(request: AppRequest) -> Template:
    return await _channels_page(request)


@post("/tablet/channels", name="tablet_channel_create", guards=[requires("users_manage")])
async def channel_create(request: AppRequest) -> Template:
    form = await _form(request)
    priority = str(form.get("priority") or "100").strip()
    if not priority.isdigit():
        raise InvalidInput("Priority is a whole number (lower is served first).")
    warehouses = [w.strip() for w in str(form.get("warehouses", "")).split(",") if w.strip()]
    spec = channels.NewChannel(kind=str(form.get("kind", "")), name=str(form.get("name", "")),  # type: ignore[arg-type]
                               secret=str(form.get("secret", "")), priority=int(priority), warehouses=warehouses)
    created = await channels.create_channel(spec, actor(request))
    return await _channels_page(request, ok=f"Channel {created.name} created: its webhooks post to"
                                            f" /webhooks/{created.kind}/{created.slug}.")


@post("/tablet/channels/{slug:str}/mappings", name="tablet_channel_mappings", guards=[requires("approve")])
async def channel_mappings(request: AppRequest, slug: FromPath[str]) -> Template:
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("Choose a CSV file with the columns channel_sku and sku.")
    specs = channels.parse_mappings_csv(await upload.read())
    count = await channels.set_mappings(slug, specs, actor(request))
    await wake_order_import(request.app.state)
    return await _channels_page(request, ok=f"{count} mapping(s) set for {slug}; waiting orders carry on.")


@get("/tablet/webhooks", name="tablet_webhooks", guards=[requires("approvals_view")])
async def webhook_log(request: AppRequest, failures: FromQuery[str] = "", channel: FromQuery[str] = "",
                      before: FromQuery[str] = "") -> Template:
    rows = await channels.webhook_log(failures_only=failures == "yes", channel=channel.strip(),
                                      before_id=int(before) if before.isdigit() else 0, limit=LOG_ROWS)
    return _page(request, "tablet/webhooks.html", "Webhook log", rows=rows, failures=failures == "yes",
                 channel=channel, older=rows[-1].id if len(rows) == LOG_ROWS else None)


@get("/tablet/orders/find", name="tablet_order_find", guards=[requires("create_pick_list")])
async def order_find(request: AppRequest, ref: FromQuery[str] = "") -> Redirect:
    order_id = await orders.find_order_id(ref)
    if order_id is None:
        raise InvalidInput(f"No order {ref.strip()!r}.")
    return Redirect(path=request.app.route_reverse("tablet_order_detail", order_id=order_id), status_code=303)


ROUTES = [order_list, order_detail, release_order, build_waves, channel_list, channel_create, channel_mappings,
          webhook_log, order_find]
