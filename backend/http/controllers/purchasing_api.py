"""`/api/v1/suppliers` and `/api/v1/purchase-orders` for integrators (an ERP, a planning tool).

Same patterns as the rest of the API: bearer tokens (read / write scope), writes keyed by the client's
`Idempotency-Key` in its token's namespace (a retry answers with the first result, header
`Idempotent-Replayed: true`), cursor paging (`next_cursor`), errors from the one mapper. What has
arrived on an order's lines is the ledger's (receipts whose doc_ref is the PO number).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.domain import bounds
from backend.domain import purchasing as p
from backend.domain.idempotency import Outcome
from backend.http import openapi
from backend.http.errors import NotFound
from backend.http.guards import actor_of, api_key, require_read, require_write

PAGE_LIMIT_MAX = 200
Limit = Annotated[int, QueryParameter(ge=1, le=PAGE_LIMIT_MAX)]
PoStatusFilter = Annotated[str, QueryParameter(pattern=f"^({'|'.join(p.PO_STATUSES)})?$",
                                               description="One status, or empty for every order")]
IdempotencyKey = openapi.IdempotencyKey


class SendOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    expected_on: date | None = None  # empty: the supplier's lead time after today


class CancelOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    reason: bounds.Text = ""


async def _existing(po_id: int) -> int:
    """A purchase order named in the path: 404 when there is none (a body's unknown reference is a 422)."""
    try:
        await p.get_order(po_id)
    except p.UnknownPurchaseOrder as exc:
        raise NotFound(exc.message) from exc
    return po_id


def _order_body(po: p.PurchaseOrderView) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(po)
    body["lines"] = [{**msgspec.to_builtins(line), "qty_open": line.qty_open} for line in po.lines]
    body.update(qty_ordered=po.qty_ordered, qty_received=po.qty_received, qty_open=po.qty_open,
                total_minor=po.total_minor)
    return body


def _answer(done: Outcome[p.PurchaseOrderView], status: int = 200) -> Response[dict[str, Any]]:
    headers = {"Idempotent-Replayed": "true"} if done.replayed else {}
    return Response(_order_body(done.value), status_code=status, headers=headers)


class SupplierController(Controller):
    path = "/suppliers"
    tags = ("purchasing",)

    @get("/", guards=[require_read], summary="Suppliers by code", responses=openapi.READ_LIST)
    async def list_suppliers(self) -> dict[str, Any]:
        return {"items": msgspec.to_builtins(await p.list_suppliers())}

    @post("/", guards=[require_write], summary="Create a supplier (currency, lead time, MOQ, case pack)",
          responses=openapi.WRITE, response_headers=openapi.REPLAYED)
    async def create_supplier(self, request: Request[Any, Any, Any], data: JSONBody[p.NewSupplier],
                              idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        done = await p.create_supplier_once(data, actor=actor_of(request), key=api_key(request, idempotency_key))
        headers = {"Idempotent-Replayed": "true"} if done.replayed else {}
        return Response(msgspec.to_builtins(done.value), status_code=201, headers=headers)


class PurchaseOrderController(Controller):
    path = "/purchase-orders"
    tags = ("purchasing",)

    @get("/", guards=[require_read], summary="Purchase orders, newest first, with ordered / received / open lines",
         responses=openapi.READ_LIST)
    async def list_orders(self, status: PoStatusFilter = "", cursor: openapi.IdCursor = "",
                          limit: Limit = 50) -> dict[str, Any]:
        chosen = next((s for s in p.PO_STATUSES if s == status), None)
        rows = await p.list_orders(chosen, before_id=int(cursor) if cursor else 0, limit=limit + 1)
        page = rows[:limit]
        return {"items": [_order_body(po) for po in page],
                "next_cursor": str(page[-1].id) if len(rows) > limit else None}

    @get("/{po_id:int}", guards=[require_read], summary="One purchase order", responses=openapi.READ_ONE)
    async def get_order(self, po_id: FromPath[int]) -> dict[str, Any]:
        return _order_body(await p.get_order(await _existing(po_id)))

    @post("/", guards=[require_write], summary="Draft a purchase order (supplier, receiving warehouse, lines by SKU)",
          responses=openapi.WRITE, response_headers=openapi.REPLAYED)
    async def create_order(self, request: Request[Any, Any, Any], data: JSONBody[p.NewPurchaseOrder],
                           idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        done = await p.create_order_once(data, actor=actor_of(request), key=api_key(request, idempotency_key))
        return _answer(done, status=201)

    @post("/{po_id:int}/send", guards=[require_write], summary="Send a draft to its supplier", status_code=200,
          responses=openapi.WRITE_UNDER, response_headers=openapi.REPLAYED)
    async def send(self, request: Request[Any, Any, Any], po_id: FromPath[int], data: JSONBody[SendOrder],
                   idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        return _answer(await p.send_order_once(await _existing(po_id), actor=actor_of(request),
                                               key=api_key(request, idempotency_key), expected_on=data.expected_on))

    @post("/{po_id:int}/cancel", guards=[require_write], summary="Cancel a draft or sent order (nothing received)",
          status_code=200, responses=openapi.WRITE_UNDER, response_headers=openapi.REPLAYED)
    async def cancel(self, request: Request[Any, Any, Any], po_id: FromPath[int], data: JSONBody[CancelOrder],
                     idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        return _answer(await p.cancel_order_once(await _existing(po_id), actor=actor_of(request),
                                                 key=api_key(request, idempotency_key), reason=data.reason))

    @post("/{po_id:int}/close", guards=[require_write], summary="Close a (partially) received order", status_code=200,
          responses=openapi.WRITE_UNDER, response_headers=openapi.REPLAYED)
    async def close(self, request: Request[Any, Any, Any], po_id: FromPath[int],
                    idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        return _answer(await p.close_order_once(await _existing(po_id), actor=actor_of(request),
                                                key=api_key(request, idempotency_key)))
