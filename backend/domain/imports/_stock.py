"""Opening stock file: sku, location, qty, unit (empty = base unit), lot, expiry (YYYY-MM-DD).

The whole file posts as ONE ledger command (one movement per row, SUPPLIER → the bin, reason
`opening_stock`) under one idempotency key derived from the file's content hash: importing the same
file again posts nothing, even from another device or after a crash halfway through the upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend import db
from backend.domain import idempotency
from backend.domain.catalog.service import ItemView, items_by_sku_key, sku_key
from backend.domain.errors import InvalidInput
from backend.domain.idempotency import payload_hash
from backend.domain.imports._files import Progress, Report, Row, parse_int, row_shape_error
from backend.domain.ledger.posting import CommandResult, Leg, Plan, post
from backend.domain.locations.service import LocationView, locations_by_code_key, virtual
from backend.domain.quantities import to_base_units

KIND = "OpeningStock"
REASON = "opening_stock"
CHECK_BATCH_ROWS = 1000
DOC_REF_LENGTH_MAX = 128


def file_key(sha256: str) -> str:
    return idempotency.scoped_key("import", f"stock:{sha256}")


@dataclass(frozen=True, slots=True)
class PlannedStock:
    line: int
    item: ItemView
    location: LocationView
    qty: int  # base units
    lot: str
    expiry: date | None


def _expiry(value: str, lot: str) -> date | None:
    if not value:
        return None
    if not lot:
        raise InvalidInput("an expiry date belongs to a lot: fill in the lot")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"expiry must be a date like 2026-12-31, got {value!r}") from exc


def _lot(item: ItemView, lot: str) -> str:
    if (item.lot_tracked or item.serial_tracked) and not lot:
        what = "serial number" if item.serial_tracked else "lot"
        raise InvalidInput(f"{item.sku} is tracked by {what}: fill in the lot column")
    if not (item.lot_tracked or item.serial_tracked) and lot:
        raise InvalidInput(f"{item.sku} is not lot tracked; leave the lot empty")
    return lot


def _planned(row: Row, items: dict[str, ItemView], locations: dict[str, LocationView]) -> PlannedStock:
    if problem := row_shape_error(row):
        raise InvalidInput(problem)
    item = items.get(sku_key(row.get("sku")))
    if item is None:
        raise InvalidInput(f"no item with SKU {row.get('sku')!r}")
    if item.is_kit or not item.active:
        raise InvalidInput(f"{item.sku} is {'a kit' if item.is_kit else 'inactive'}: it has no stock of its own")
    location = locations.get(row.get("location").casefold())
    if location is None:
        raise InvalidInput(f"no location {row.get('location')!r}")
    if not location.holds_stock:
        raise InvalidInput(f"{location.code} is a {location.kind}, not a place that holds stock")
    count = parse_int(row.get("qty"), "qty", minimum=1)
    unit = row.get("unit") or item.base_unit
    qty = to_base_units(count, item.factor(unit), unit)
    lot = _lot(item, row.get("lot"))
    if item.serial_tracked and qty != 1:
        raise InvalidInput(f"{item.sku} is serial tracked: one row per serial number, qty 1")
    return PlannedStock(row.line, item, location, qty, lot, _expiry(row.get("expiry"), lot))


async def check(rows: list[Row], report: Report, progress: Progress) -> list[PlannedStock]:
    if await idempotency.is_claimed(file_key(report.sha256)):
        report.replayed = True  # posted before: the key answers, nothing to check or post
        return []
    planned: list[PlannedStock] = []
    for start in range(0, len(rows), CHECK_BATCH_ROWS):
        batch = rows[start:start + CHECK_BATCH_ROWS]
        items = await items_by_sku_key(sorted({sku_key(r.get("sku")) for r in batch}))
        locations = await locations_by_code_key(sorted({r.get("location").casefold() for r in batch}))
        for row in batch:
            try:
                planned.append(_planned(row, items, locations))
            except InvalidInput as exc:
                report.add_error(row.line, exc.message)
        progress("checking", start + len(batch), len(rows))
    return planned


async def apply(planned: list[PlannedStock], report: Report, name: str, actor: str) -> CommandResult:
    """Post the file as one ledger command inside the caller's transaction (claims the file's key)."""
    key = file_key(report.sha256)
    stored = await idempotency.claim(key, KIND, payload_hash(KIND, {"sha256": report.sha256}), actor)
    if stored is not None:
        return CommandResult.replayed_from(key, KIND, stored)
    for lot, item_id, expiry in sorted({(p.lot, p.item.id, p.expiry) for p in planned if p.expiry}):
        await db.fetch("INSERT INTO lots (item_id, lot, expiry) VALUES ({}, {}, {})"
                       " ON CONFLICT (item_id, lot) DO NOTHING", item_id, lot, expiry)
    supplier = await virtual("supplier")
    legs = [Leg(p.item, p.lot, p.qty, supplier, p.location, reason=REASON) for p in planned]
    doc_ref = f"opening stock {name or report.sha256[:12]}"[:DOC_REF_LENGTH_MAX]
    return await post(key, KIND, Plan(legs, doc_ref=doc_ref), actor)
