"""Read endpoints and item/location creation for `/api/v1`. Lists use cursor pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.domain.catalog import service as catalog
from backend.domain.errors import InvalidInput, UnknownBarcode
from backend.domain.idempotency import Outcome
from backend.domain.ledger import queries
from backend.domain.locations import service as locations
from backend.http import openapi
from backend.http.connection import AppRequest
from backend.http.errors import NotFound
from backend.http.guards import actor_of, api_key, require_read, require_write

Limit = Annotated[int, QueryParameter(ge=1, le=queries.PAGE_LIMIT_MAX)]
Q = openapi.Q
IdCursor = openapi.IdCursor
# A string the handler parses, not `datetime`: the query parser would also take a bare number as a Unix time.
Moment = Annotated[str, QueryParameter(
    max_length=40, pattern=r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?)?$",
    description="ISO 8601 date or time (UTC when it has no offset): movements created at or after `since`, "
                "before `until`")]


def _page(rows: list[Any], cursor_of: Callable[[Any], object], limit: int,
          render: Callable[[Any], dict[str, Any]] = asdict) -> dict[str, Any]:
    """Rows were fetched with limit + 1: the extra row only tells whether there is a next page."""
    page = rows[:limit]
    more = len(rows) > limit
    return {"items": [render(r) for r in page], "next_cursor": str(cursor_of(page[-1])) if more else None}


async def _item_or_404(sku: str) -> catalog.ItemView:
    item = await catalog.find_item(sku)
    if item is None:
        raise NotFound(f"No item with SKU {sku!r}.")
    return item


async def _location_or_404(code: str) -> locations.LocationView:
    loc = await locations.find_location(code)
    if loc is None:
        raise NotFound(f"No location {code!r}.")
    return loc


def _utc(text: str) -> datetime | None:
    """An ISO 8601 time (a time without an offset is taken as UTC, the ledger's clock); None when empty."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a date or time (use ISO 8601, e.g. 2026-11-30T08:00:00Z).") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _int_cursor(cursor: str) -> int:
    return int(cursor) if cursor else 0  # IdCursor: digits only, and few enough to fit an id


def _scoped(request: AppRequest, idempotency_key: str | None) -> str | None:
    return None if idempotency_key is None else api_key(request, idempotency_key)


def _created(done: Outcome[Any], body: dict[str, Any]) -> Response[dict[str, Any]]:
    headers = {"Idempotent-Replayed": "true"} if done.replayed else {}
    return Response(body, status_code=201, headers=headers)


def _balance(b: queries.BalanceRow) -> dict[str, Any]:
    return {**asdict(b), "available": b.available}


class ItemController(Controller):
    path = "/items"
    tags = ("catalog",)

    @get("/", guards=[require_read], responses=openapi.READ_LIST)
    async def list_items(self, q: Q = "", cursor: Q = "", limit: Limit = 100) -> dict[str, Any]:
        rows = await catalog.list_items(after_sku_key=cursor, limit=limit + 1, query=q)
        return _page(rows, lambda r: catalog.sku_key(r.sku), limit)

    @post("/", guards=[require_write], responses=openapi.WRITE, response_headers=openapi.REPLAYED)
    async def create_item(self, request: AppRequest, data: JSONBody[catalog.NewItem],
                          idempotency_key: openapi.OptionalIdempotencyKey = None) -> Response[dict[str, Any]]:
        done = await catalog.create_item_once(data, actor_of(request), key=_scoped(request, idempotency_key))
        return _created(done, await self._detail(done.value))

    @get("/{sku:str}", guards=[require_read], responses=openapi.READ_ONE)
    async def get_item(self, sku: FromPath[str]) -> dict[str, Any]:
        return await self._detail(await _item_or_404(sku))

    @post("/{sku:str}/barcodes", guards=[require_write], responses=openapi.WRITE_UNDER,
          response_headers=openapi.REPLAYED)
    async def add_barcode(self, request: AppRequest, sku: FromPath[str], data: JSONBody[catalog.BarcodeSpec],
                          idempotency_key: openapi.OptionalIdempotencyKey = None) -> Response[dict[str, Any]]:
        item = await _item_or_404(sku)
        done = await catalog.add_barcode_once(item.sku, data, actor_of(request),
                                              key=_scoped(request, idempotency_key))
        return _created(done, await self._detail(done.value))

    @staticmethod
    async def _detail(item: catalog.ItemView) -> dict[str, Any]:
        components = await catalog.kit_components(item.id)
        return {
            **asdict(item),
            "barcodes": await catalog.barcodes_of(item.id),
            "components": [{"item_id": cid, "qty": qty} for cid, qty in components],
            "available": await queries.available_to_sell(item),
        }


class LocationController(Controller):
    path = "/locations"
    tags = ("locations",)

    @get("/", guards=[require_read], responses=openapi.READ_LIST)
    async def list_locations(self, kind: Q = "", cursor: IdCursor = "", limit: Limit = 100) -> dict[str, Any]:
        rows = await locations.list_locations(kind or None, after_id=_int_cursor(cursor), limit=limit + 1)
        return _page(rows, lambda r: r.id, limit)

    @post("/", guards=[require_write], responses=openapi.WRITE, response_headers=openapi.REPLAYED)
    async def create_location(self, request: AppRequest, data: JSONBody[locations.NewLocation],
                              idempotency_key: openapi.OptionalIdempotencyKey = None) -> Response[dict[str, Any]]:
        done = await locations.create_location_once(data, actor_of(request), key=_scoped(request, idempotency_key))
        return _created(done, asdict(done.value))

    @get("/{code:str}", guards=[require_read], responses=openapi.READ_ONE)
    async def get_location(self, code: FromPath[str]) -> dict[str, Any]:
        return asdict(await _location_or_404(code))


class StockController(Controller):
    path = "/stock"
    tags = ("ledger",)

    @get("/", guards=[require_read], responses=openapi.READ_FILTERED)
    async def list_balances(
        self, sku: Q = "", location: Q = "", cursor: IdCursor = "", limit: Limit = 100
    ) -> dict[str, Any]:
        item_id = (await _item_or_404(sku)).id if sku else None
        location_id = (await _location_or_404(location)).id if location else None
        rows = await queries.balances(item_id=item_id, location_id=location_id,
                                      after_id=_int_cursor(cursor), limit=limit + 1)
        return _page(rows, lambda r: r.id, limit, _balance)


class MovementController(Controller):
    path = "/movements"
    tags = ("ledger",)

    @get("/", guards=[require_read], responses=openapi.READ_FILTERED)
    async def list_movements(
        self, sku: Q = "", location: Q = "", reason: Q = "", doc_ref: Q = "",
        since: Moment = "", until: Moment = "", cursor: IdCursor = "", limit: Limit = 100,
    ) -> dict[str, Any]:
        item_id = (await _item_or_404(sku)).id if sku else None
        location_id = (await _location_or_404(location)).id if location else None
        rows = await queries.movements(after_id=_int_cursor(cursor), limit=limit + 1, item_id=item_id,
                                       location_id=location_id, reason=reason, doc_ref=doc_ref,
                                       since=_utc(since), until=_utc(until))
        return _page(rows, lambda r: r.id, limit)


class ReservationController(Controller):
    path = "/reservations"
    tags = ("ledger",)

    @get("/", guards=[require_read], responses=openapi.READ_LIST)
    async def list_reservations(
        self, status: Q = "", order_ref: Q = "", cursor: IdCursor = "", limit: Limit = 100
    ) -> dict[str, Any]:
        rows = await queries.reservations(after_id=_int_cursor(cursor), limit=limit + 1, status=status,
                                          order_ref=order_ref)
        return _page(rows, lambda r: r.id, limit)


@get("/barcodes/resolve", guards=[require_read], tags=["catalog"], responses=openapi.READ_FILTERED)
async def resolve_barcode(code: Q) -> dict[str, Any]:
    """What a scanned string is: a bin, or an item with unit, quantity, lot, expiry and serial."""
    loc = await locations.find_by_barcode(code)
    if loc is not None:
        return {"kind": "location", "location": asdict(loc)}
    try:
        scan = await catalog.resolve_item_scan(code)
    except UnknownBarcode as exc:
        raise NotFound(exc.message) from exc
    return {
        "kind": "item",
        "item": asdict(scan.item),
        "unit": scan.unit,
        "factor": scan.factor,
        "count": scan.count,
        "qty": scan.qty_base,
        "lot": scan.lot,
        "expiry": scan.expiry.isoformat() if scan.expiry else None,
        "serial": scan.serial,
    }
