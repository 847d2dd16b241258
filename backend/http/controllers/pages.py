"""The stock lookup page: scan or type an item or bin code, see where stock is."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from backend.domain.catalog import service as catalog
from backend.domain.errors import DomainError
from backend.domain.ledger import queries
from backend.domain.locations import service as locations

LOOKUP_ROWS_MAX = 200


async def _lookup(code: str) -> dict[str, Any]:
    code = code.strip()
    if not code:
        return {}
    loc = await locations.find_by_barcode(code) or await locations.find_location(code)
    if loc is not None:
        rows = await queries.balances(location_id=loc.id, limit=LOOKUP_ROWS_MAX)
        return {"location": loc, "rows": rows}
    item = await catalog.find_item(code)
    if item is None:
        try:
            item = (await catalog.resolve_item_scan(code)).item
        except DomainError as exc:
            return {"error": exc.message}
    rows = await queries.balances(item_id=item.id, limit=LOOKUP_ROWS_MAX)
    return {"item": item, "rows": rows, "available": await queries.available_to_sell(item)}


@get("/", name="lookup", include_in_schema=False)
async def lookup_page(request: Request, code: FromQuery[str] = "") -> Template:
    context = {"code": code, **(await _lookup(code))}
    template = "partials/lookup_result.html" if request.headers.get("hx-request") else "lookup.html"
    return Template(template_name=template, context=context, headers={"Vary": "HX-Request"})
