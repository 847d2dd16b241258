"""Locations file: code, kind (warehouse | zone | bin), parent, name, barcode (default: the code), walk_seq.
A zone's parent is a warehouse, a bin's a zone, each either already there or on an earlier line.
Every new warehouse gets its staging area (CODE-STAGE), as one made on the tablet does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from backend import db
from backend.domain.errors import InvalidInput
from backend.domain.imports._files import Progress, Report, Row, parse_int, row_shape_error
from backend.domain.locations.service import (
    LocationView,
    NewLocation,
    check_code,
    create_in_transaction,
    locations_by_code_key,
)

PARENT_KIND = {"warehouse": None, "zone": "warehouse", "bin": "zone"}
INSERT_BATCH_ROWS = 500
STAGE_SUFFIX = "-STAGE"


@dataclass(frozen=True, slots=True)
class PlannedLocation:
    line: int
    spec: NewLocation


async def _taken_barcodes(codes: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(codes), INSERT_BATCH_ROWS):
        batch = codes[start:start + INSERT_BATCH_ROWS]
        marks = ", ".join("{}" for _ in batch)
        rows = await db.fetch(f"SELECT barcode AS code FROM locations WHERE barcode IN ({marks})"
                              f" UNION ALL SELECT code FROM barcodes WHERE code IN ({marks})", *batch, *batch)
        taken |= {r["code"] for r in rows}
    return taken


def _spec(row: Row) -> NewLocation:
    code = check_code(row.get("code"))
    kind = cast(Any, row.get("kind").lower())  # one of PARENT_KIND's, checked here
    if kind not in PARENT_KIND:
        raise InvalidInput(f"kind must be warehouse, zone or bin, got {row.get('kind')!r}")
    return NewLocation(code=code, kind=kind, parent=row.get("parent") or None, name=row.get("name"),
                       barcode=row.get("barcode") or code,
                       walk_seq=parse_int(row.get("walk_seq"), "walk_seq", minimum=0, default=0))


def _same(existing: LocationView, spec: NewLocation, parent: LocationView | None) -> bool:
    return (existing.kind, existing.parent_id, existing.name, existing.barcode, existing.walk_seq) == (
        spec.kind, parent.id if parent else None, spec.name, spec.barcode, spec.walk_seq)


class _Checker:
    def __init__(self, existing: dict[str, LocationView], taken: set[str], report: Report) -> None:
        self.existing, self.taken, self.report = existing, taken, report
        self.in_file: dict[str, tuple[int, str]] = {}  # code key → (line, kind)
        self.barcodes: dict[str, int] = {}  # barcodes new in this file → line

    def parent_problem(self, spec: NewLocation) -> str | None:
        wanted = PARENT_KIND[spec.kind]
        if wanted is None:
            return "a warehouse has no parent" if spec.parent else None
        if not spec.parent:
            return f"a {spec.kind} needs a parent {wanted}"
        key = spec.parent.strip().casefold()
        kind = self.in_file[key][1] if key in self.in_file else getattr(self.existing.get(key), "kind", None)
        if kind is None:
            return f"parent {spec.parent} is not known: create it first or list it on an earlier line"
        return None if kind == wanted else f"the parent of a {spec.kind} must be a {wanted}; {spec.parent} is a {kind}"

    def new_codes(self, line: int, spec: NewLocation) -> str | None:
        pairs = [(spec.code, spec.barcode)]
        if spec.kind == "warehouse":
            pairs.append((spec.code + STAGE_SUFFIX, spec.barcode + STAGE_SUFFIX))
        for code, barcode in pairs:
            key = code.casefold()
            if key in self.in_file:
                return f"location {code} is also on line {self.in_file[key][0]}"
            if key in self.existing and code != spec.code:
                return f"location {code} (its staging area) already exists"
            if barcode in self.taken or barcode in self.barcodes:
                return f"barcode {barcode} is already in use"
        for code, barcode in pairs:
            self.in_file[code.casefold()] = (line, spec.kind)
            self.barcodes[barcode] = line
        return None

    def row(self, row: Row) -> PlannedLocation | None:
        try:
            if problem := row_shape_error(row):
                raise InvalidInput(problem)
            spec = _spec(row)
        except InvalidInput as exc:
            self.report.add_error(row.line, exc.message)
            return None
        problem = self.parent_problem(spec)
        key = spec.code.casefold()
        if problem is None and key in self.existing and key not in self.in_file:
            parent = self.existing.get((spec.parent or "").casefold())
            if _same(self.existing[key], spec, parent):
                self.report.unchanged += 1
                self.in_file[key] = (row.line, spec.kind)
                return None
            problem = f"location {spec.code} already exists with other details; an import does not change it"
        problem = problem or self.new_codes(row.line, spec)
        if problem:
            self.report.add_error(row.line, problem)
            return None
        return PlannedLocation(row.line, spec)


async def check(rows: list[Row], report: Report, progress: Progress) -> list[PlannedLocation]:
    keys = {r.get("code").casefold() for r in rows} | {r.get("parent").casefold() for r in rows if r.get("parent")}
    keys |= {(r.get("code") + STAGE_SUFFIX).casefold() for r in rows}
    existing = await locations_by_code_key(sorted(keys))
    barcodes = {r.get("barcode") or r.get("code") for r in rows}
    taken = await _taken_barcodes(sorted(barcodes | {b + STAGE_SUFFIX for b in barcodes}))
    # An unchanged row is settled before its barcode is looked at; for a new one any use is a clash.
    checker = _Checker(existing, taken, report)
    planned = []
    for n, row in enumerate(rows, start=1):
        found = checker.row(row)
        if found:
            planned.append(found)
        if n % 1000 == 0 or n == len(rows):
            progress("checking", n, len(rows))
    return planned


async def apply(planned: list[PlannedLocation], progress: Progress) -> int:
    """Warehouses and zones one by one (a warehouse also gets its staging area); bins in batches."""
    bins = [p.spec for p in planned if p.spec.kind == "bin"]
    for p in planned:
        if p.spec.kind != "bin":
            await create_in_transaction(p.spec)
    parents = await locations_by_code_key(sorted({(b.parent or "").casefold() for b in bins}))
    for start in range(0, len(bins), INSERT_BATCH_ROWS):
        batch = bins[start:start + INSERT_BATCH_ROWS]
        marks = ", ".join("({}, {}, {}, {}, 'bin', {}, {}, {})" for _ in batch)
        args = []
        for b in batch:
            zone = parents[(b.parent or "").casefold()]
            args += [b.code, b.code.casefold(), b.barcode.strip(), b.name, zone.id, zone.warehouse_id, b.walk_seq]
        await db.fetch("INSERT INTO locations (code, code_key, barcode, name, kind, parent_id, warehouse_id, walk_seq)"
                       f" VALUES {marks}", *args)
        progress("writing", start + len(batch), len(bins))
    return len(planned)
