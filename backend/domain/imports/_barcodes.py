"""Barcodes file: sku, barcode, unit (empty = the item's base unit). GTINs must have a valid check digit."""

from __future__ import annotations

from dataclasses import dataclass

from backend import db
from backend.domain.catalog.service import check_barcode, items_by_sku_key, sku_key
from backend.domain.errors import InvalidInput
from backend.domain.imports._files import Progress, Report, Row, row_shape_error

INSERT_BATCH_ROWS = 1000
CHECK_BATCH_ROWS = 1000


@dataclass(frozen=True, slots=True)
class PlannedBarcode:
    line: int
    code: str
    item_id: int
    unit: str


async def _taken(codes: list[str]) -> dict[str, tuple[str, int | None, str]]:
    """code → ("item", item_id, unit) or ("location", None, "") for codes already in use."""
    if not codes:
        return {}
    marks = ", ".join("{}" for _ in codes)
    rows = await db.fetch(
        f"SELECT code, item_id, unit, 'item' AS owner FROM barcodes WHERE code IN ({marks})"
        f" UNION ALL SELECT barcode, NULL, '', 'location' FROM locations WHERE barcode IN ({marks})",
        *codes, *codes)
    return {r["code"]: (r["owner"], r["item_id"], r["unit"]) for r in rows}


async def check(rows: list[Row], report: Report, progress: Progress) -> list[PlannedBarcode]:
    planned: list[PlannedBarcode] = []
    first_line: dict[str, int] = {}
    for start in range(0, len(rows), CHECK_BATCH_ROWS):
        batch = rows[start:start + CHECK_BATCH_ROWS]
        items = await items_by_sku_key(sorted({sku_key(r.get("sku")) for r in batch}))
        taken = await _taken(sorted({r.get("barcode") for r in batch if r.get("barcode")}))
        for row in batch:
            try:
                if problem := row_shape_error(row):
                    raise InvalidInput(problem)
                code = check_barcode(row.get("barcode"))
                item = items.get(sku_key(row.get("sku")))
                if item is None:
                    raise InvalidInput(f"no item with SKU {row.get('sku')!r}: import the items first")
                unit = row.get("unit") or item.base_unit
                item.factor(unit)  # an unknown unit is refused with the units the item has
            except InvalidInput as exc:
                report.add_error(row.line, exc.message)
                continue
            if code in first_line:
                report.add_error(row.line, f"barcode {code} is also on line {first_line[code]}")
                continue
            first_line[code] = row.line
            owner = taken.get(code)
            if owner == ("item", item.id, unit):
                report.unchanged += 1
            elif owner is not None:
                report.add_error(row.line, f"barcode {code} is already used by "
                                           f"{'a location' if owner[0] == 'location' else 'another item or unit'}")
            else:
                planned.append(PlannedBarcode(row.line, code, item.id, unit))
        progress("checking", start + len(batch), len(rows))
    return planned


async def apply(planned: list[PlannedBarcode], progress: Progress) -> int:
    for start in range(0, len(planned), INSERT_BATCH_ROWS):
        batch = planned[start:start + INSERT_BATCH_ROWS]
        marks = ", ".join("({}, {}, {})" for _ in batch)
        await db.fetch(f"INSERT INTO barcodes (code, item_id, unit) VALUES {marks}",
                       *[a for b in batch for a in (b.code, b.item_id, b.unit)])
        progress("writing", start + len(batch), len(planned))
    return len(planned)
