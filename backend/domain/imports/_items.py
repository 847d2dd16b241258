"""Items file: sku, name, base_unit, case_pack, units ("inner=6;pallet=480"), lot_tracked,
serial_tracked, unit_cost_cents. Kits and variants are made one by one (API or tablet)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from backend import db
from backend.domain.catalog.service import ItemView, NewItem, UnitSpec, check_item_spec, items_by_sku_key, sku_key
from backend.domain.errors import InvalidInput
from backend.domain.imports._files import Progress, Report, Row, parse_bool, parse_int, row_shape_error

CASE_UNIT = "case"
INSERT_BATCH_ROWS = 400  # 11 values a row: well under SQLite's and PostgreSQL's parameter limits
CHECK_BATCH_ROWS = 1000


@dataclass(frozen=True, slots=True)
class PlannedItem:
    line: int
    spec: NewItem


def _units(row: Row) -> list[UnitSpec]:
    units: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in row.get("units").replace(",", ";").split(";"))):
        name, sep, factor = part.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"units must look like inner=6;case=24, got {part!r}")
        units[name.strip()] = parse_int(factor, f"factor of unit {name.strip()!r}", minimum=1)
    if row.get("case_pack"):
        pack = parse_int(row.get("case_pack"), "case_pack", minimum=1)
        if units.get(CASE_UNIT, pack) != pack:
            raise InvalidInput(f"case_pack {pack} disagrees with units case={units[CASE_UNIT]}")
        units[CASE_UNIT] = pack
    return [UnitSpec(u, f) for u, f in units.items()]


def _spec(row: Row) -> NewItem:
    return NewItem(
        sku=row.get("sku"), name=row.get("name"), base_unit=row.get("base_unit") or "each", units=_units(row),
        lot_tracked=parse_bool(row.get("lot_tracked"), "lot_tracked"),
        serial_tracked=parse_bool(row.get("serial_tracked"), "serial_tracked"),
        unit_cost_cents=parse_int(row.get("unit_cost_cents"), "unit_cost_cents", minimum=0, default=0),
    )


def _differs(existing: ItemView, spec: NewItem) -> str | None:
    wanted = (spec.name.strip(), spec.base_unit, {u.unit: u.factor for u in spec.units}, spec.lot_tracked,
              spec.serial_tracked, spec.unit_cost_cents)
    have = (existing.name, existing.base_unit, existing.units, existing.lot_tracked, existing.serial_tracked,
            existing.unit_cost_cents)
    names = ("name", "base unit", "units", "lot tracking", "serial tracking", "unit cost")
    changed = [n for n, w, h in zip(names, wanted, have, strict=True) if w != h]
    return ", ".join(changed) if changed else None


async def check(rows: list[Row], report: Report, progress: Progress) -> list[PlannedItem]:
    planned: list[PlannedItem] = []
    first_line: dict[str, int] = {}
    for start in range(0, len(rows), CHECK_BATCH_ROWS):
        batch = rows[start:start + CHECK_BATCH_ROWS]
        existing = await items_by_sku_key(sorted({sku_key(r.get("sku")) for r in batch}))
        for row in batch:
            try:
                if problem := row_shape_error(row):
                    raise InvalidInput(problem)
                spec = _spec(row)
                key = sku_key(check_item_spec(spec))
            except InvalidInput as exc:
                report.add_error(row.line, exc.message)
                continue
            if key in first_line:
                report.add_error(row.line, f"SKU {spec.sku} is also on line {first_line[key]}")
                continue
            first_line[key] = row.line
            if key in existing:
                changed = _differs(existing[key], spec)
                if changed:
                    report.add_error(row.line, f"SKU {spec.sku} already exists with another {changed}; an import "
                                               "adds items, it does not change them")
                else:
                    report.unchanged += 1
                continue
            planned.append(PlannedItem(row.line, spec))
        progress("checking", start + len(batch), len(rows))
    return planned


async def apply(planned: list[PlannedItem], progress: Progress) -> int:
    """Insert the items and their units in batches, inside the caller's transaction."""
    now = datetime.now(UTC)
    for start in range(0, len(planned), INSERT_BATCH_ROWS):
        batch = [p.spec for p in planned[start:start + INSERT_BATCH_ROWS]]
        values = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in batch)
        args = [a for s in batch for a in (s.sku.strip(), sku_key(s.sku), s.name.strip(), s.base_unit, s.lot_tracked,
                                           s.serial_tracked, False, s.unit_cost_cents, None, json.dumps({}), now)]
        rows = await db.fetch(
            "INSERT INTO items (sku, sku_key, name, base_unit, lot_tracked, serial_tracked, is_kit, unit_cost_cents,"
            f" parent_id, variant_attrs, created_at) VALUES {values} RETURNING id, sku_key", *args)
        ids = {r["sku_key"]: r["id"] for r in rows}
        units = [(ids[sku_key(s.sku)], u.unit, u.factor) for s in batch for u in s.units]
        if units:
            marks = ", ".join("({}, {}, {})" for _ in units)
            await db.fetch(f"INSERT INTO item_units (item_id, unit, factor) VALUES {marks}",
                           *[a for u in units for a in u])
        progress("writing", start + len(batch), len(planned))
    return len(planned)
