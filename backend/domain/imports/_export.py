"""CSV exports: the four import formats (an export imports back unchanged), stock and movements.
Rows are read in keyset pages, so a large catalogue or ledger streams in bounded memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any, Literal, get_args

from backend import db

ExportKind = Literal["items", "barcodes", "locations", "stock", "movements"]
EXPORT_KINDS: tuple[ExportKind, ...] = get_args(ExportKind)
PAGE_ROWS = 1000

_QUERIES: dict[ExportKind, tuple[list[str], str]] = {
    "items": (["sku", "name", "base_unit", "units", "lot_tracked", "serial_tracked", "unit_cost_cents"],
              "SELECT i.id AS cursor, i.sku, i.name, i.base_unit, i.lot_tracked, i.serial_tracked, i.unit_cost_cents,"
              " i.id AS item_id FROM items i WHERE i.id > {} AND i.is_kit = FALSE ORDER BY i.id LIMIT {}"),
    "barcodes": (["sku", "barcode", "unit"],
                 "SELECT b.id AS cursor, i.sku, b.code AS barcode, b.unit FROM barcodes b"
                 " JOIN items i ON i.id = b.item_id WHERE b.id > {} ORDER BY b.id LIMIT {}"),
    "locations": (["code", "kind", "parent", "name", "barcode", "walk_seq"],
                  "SELECT l.id AS cursor, l.code, l.kind, p.code AS parent, l.name, l.barcode, l.walk_seq"
                  " FROM locations l LEFT JOIN locations p ON p.id = l.parent_id"
                  " WHERE l.id > {} AND l.kind IN ('warehouse', 'zone', 'bin') ORDER BY l.id LIMIT {}"),
    "stock": (["sku", "location", "lot", "on_hand", "reserved", "quarantined", "damaged", "available"],
              "SELECT b.id AS cursor, i.sku, l.code AS location, b.lot, b.on_hand, b.reserved, b.quarantined,"
              " b.damaged, b.on_hand - b.reserved - b.quarantined - b.damaged AS available"
              " FROM balances b JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id"
              " WHERE b.id > {} AND b.on_hand > 0 ORDER BY b.id LIMIT {}"),
    "movements": (["id", "created_at", "sku", "lot", "qty", "from_location", "to_location", "from_state", "to_state",
                   "reason", "actor", "doc_ref", "reversal_of"],
                  "SELECT m.id AS cursor, m.id, m.created_at, i.sku, m.lot, m.qty, lf.code AS from_location,"
                  " lt.code AS to_location, m.from_state, m.to_state, m.reason, m.actor, m.doc_ref, m.reversal_of"
                  " FROM movements m JOIN items i ON i.id = m.item_id"
                  " JOIN locations lf ON lf.id = m.from_location_id JOIN locations lt ON lt.id = m.to_location_id"
                  " WHERE m.id > {} ORDER BY m.id LIMIT {}"),
}


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value


async def _units(item_ids: list[int]) -> dict[int, str]:
    if not item_ids:
        return {}
    marks = ", ".join("{}" for _ in item_ids)
    rows = await db.fetch(f"SELECT item_id, unit, factor FROM item_units WHERE item_id IN ({marks})"
                          " ORDER BY item_id, factor, unit", *item_ids)
    units: dict[int, list[str]] = {}
    for r in rows:
        units.setdefault(r["item_id"], []).append(f"{r['unit']}={r['factor']}")
    return {k: ";".join(v) for k, v in units.items()}


async def export_csv(kind: ExportKind) -> AsyncIterator[str]:
    """The CSV text of `kind`, a page of rows at a time (the header first)."""
    columns, sql = _QUERIES[kind]
    yield _line(columns)
    cursor = 0
    while True:
        rows = await db.fetch(sql, cursor, PAGE_ROWS)
        if not rows:
            return
        if kind == "items":
            units = await _units([r["item_id"] for r in rows])
            rows = [{**r, "units": units.get(r["item_id"], ""),
                     "lot_tracked": bool(r["lot_tracked"]), "serial_tracked": bool(r["serial_tracked"])} for r in rows]
        yield "".join(_line([_cell(r[c]) for c in columns]) for r in rows)
        cursor = rows[-1]["cursor"]
