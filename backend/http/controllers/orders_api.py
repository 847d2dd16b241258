"""`/api/v1/orders` and `/api/v1/channels`: orders from every source, and channel SKU mappings.

Same patterns as the rest of the API: bearer tokens (read / write scope), writes keyed by the
client's `Idempotency-Key` in its token's namespace (a retry answers with the order as it is now,
header `Idempotent-Replayed: true`), cursor paging (`next_cursor`), errors from the one mapper.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from backend import db
from backend.domain import channels, orders
from backend.domain.errors import InvalidInput
from backend.http import openapi
from backend.http.connection import AppRequest
from backend.http.errors import NotFound
from backend.http.guards import actor_of, api_key, require_read, require_write
from jobs.dispatch import wake_order_import

Limit = Annotated[int, QueryParameter(ge=1, le=orders.PAGE_LIMIT_MAX)]
Q = openapi.Q
IdempotencyKey = openapi.IdempotencyKey


async def _detail(order_id: int) -> dict[str, Any]:
    detail = await orders.get_order_detail(order_id)
    return msgspec.to_builtins(detail)  # type: ignore[no-any-return]


async def _existing(order_id: int) -> int:
    if await db.fetch_one("SELECT id FROM orders WHERE id = {}", order_id) is None:
        raise NotFound(f"No order #{order_id}.")
    return order_id


def _hold_filter(hold: str) -> bool | None:
    value = hold.strip().lower()
    if value in ("", "any"):
        return None
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise InvalidInput("hold must be true or false.")


def _changed(change: orders.OrderChange, body: dict[str, Any], status: int = 200) -> Response[dict[str, Any]]:
    headers = {"Idempotent-Replayed": "true"} if change.replayed else {}
    return Response(body, status_code=status, headers=headers)


class OrderController(Controller):
    path = "/orders"
    tags = ("orders",)

    @get("/", guards=[require_read], summary="Orders, newest first (filters: status, channel, hold)",
         responses=openapi.READ_LIST)
    async def list_orders(self, status: Q = "", channel: Q = "", hold: Q = "", cursor: openapi.IdCursor = "",
                          limit: Limit = 50) -> dict[str, Any]:
        before = int(cursor) if cursor else 0
        rows = await orders.list_orders(status=status.strip(), channel=channel.strip(), on_hold=_hold_filter(hold),
                                        before_id=before, limit=limit + 1)
        page = rows[:limit]
        return {"items": msgspec.to_builtins(page),
                "next_cursor": str(page[-1].id) if len(rows) > limit else None}

    @get("/{order_id:int}", guards=[require_read],
         summary="One order: lines, reservations, timeline, allocation reasons",
         responses=openapi.READ_ONE)
    async def get_order(self, order_id: FromPath[int]) -> dict[str, Any]:
        return await _detail(await _existing(order_id))

    @post("/", guards=[require_write], summary="Place an order (reserved, backordered or held at once)",
          responses=openapi.WRITE, response_headers=openapi.REPLAYED)
    async def create_order(self, request: AppRequest, data: JSONBody[orders.NewOrder],
                           idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        change = await orders.place_order(data, key=api_key(request, idempotency_key), actor=actor_of(request))
        return _changed(change, await _detail(change.order_id), status=201)

    @post("/{order_id:int}/cancel", guards=[require_write], summary="Cancel an order not yet picked", status_code=200,
          responses=openapi.WRITE_UNDER, response_headers=openapi.REPLAYED)
    async def cancel(self, request: AppRequest, order_id: FromPath[int], data: JSONBody[orders.OrderNote],
                     idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        change = await orders.cancel_order(await _existing(order_id), data.note, key=api_key(request, idempotency_key),
                                           actor=actor_of(request))
        return _changed(change, await _detail(order_id))

    @post("/{order_id:int}/hold", guards=[require_write], summary="Hold an order (a note is required)", status_code=200,
          responses=openapi.WRITE_UNDER, response_headers=openapi.REPLAYED)
    async def hold(self, request: AppRequest, order_id: FromPath[int], data: JSONBody[orders.OrderNote],
                   idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        change = await orders.hold_order(await _existing(order_id), data.note, key=api_key(request, idempotency_key),
                                         actor=actor_of(request))
        return _changed(change, await _detail(order_id))

    @post("/{order_id:int}/release", guards=[require_write], summary="Release an order's holds (a note is required)",
          status_code=200, responses=openapi.WRITE_UNDER, response_headers=openapi.REPLAYED)
    async def release(self, request: AppRequest, order_id: FromPath[int], data: JSONBody[orders.OrderNote],
                      idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        change = await orders.release_hold(await _existing(order_id), data.note,
                                           key=api_key(request, idempotency_key), actor=actor_of(request))
        return _changed(change, await _detail(order_id))


async def _channel(slug: str) -> channels.ChannelView:
    channel = await channels.find_channel(slug)
    if channel is None:
        raise NotFound(f"No channel {slug!r}.")
    return channel


class ChannelController(Controller):
    path = "/channels"
    tags = ("channels",)

    @get("/", guards=[require_read], summary="Channel accounts (secrets are never shown)", responses=openapi.READ_LIST)
    async def list_channels(self) -> dict[str, Any]:
        return {"items": [msgspec.to_builtins(c) for c in await channels.list_channels()]}

    @put("/{slug:str}/mappings", guards=[require_write], summary="Set SKU mappings (create or replace each)",
         responses=openapi.WRITE_UNDER)
    async def set_mappings(self, request: AppRequest, slug: FromPath[str],
                           data: JSONBody[channels.MappingBatch]) -> dict[str, Any]:
        channel = await _channel(slug)
        count = await channels.set_mappings(channel.slug, data.mappings, actor_of(request))
        await wake_order_import(request.app.state)  # orders waiting for these SKUs carry on
        return {"channel": channel.slug, "set": count}

    @get("/{slug:str}/unmapped", guards=[require_read], summary="Order lines waiting for a SKU mapping",
         responses=openapi.READ_ONE)
    async def unmapped(self, slug: FromPath[str]) -> dict[str, Any]:
        channel = await _channel(slug)
        return {"items": msgspec.to_builtins(await orders.unmapped_lines(channel=channel.slug))}
