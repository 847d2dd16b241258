"""Warehouses, zones, bins and the virtual locations stock flows through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from backend import db
from backend.domain import bounds
from backend.domain.auth import audit
from backend.domain.auth.audit import SYSTEM
from backend.domain.errors import AlreadyExists, InvalidInput, UnknownLocation
from backend.domain.idempotency import Outcome, run_keyed

LocationKind = Literal["warehouse", "zone", "bin", "staging", "supplier", "customer", "in_transit", "adjustment",
                       "scrap"]  # the locations table's CHECK
# Kinds that hold stock (have balances). Supplier, customer and adjustment are the ledger's
# outside world: stock appears from them and disappears into them.
STOCK_KINDS: tuple[LocationKind, ...] = ("bin", "staging", "in_transit", "scrap")
VIRTUAL_CODES = {
    "supplier": "SUPPLIER",
    "customer": "CUSTOMER",
    "adjustment": "ADJUSTMENT",
    "in_transit": "IN-TRANSIT",
    "scrap": "SCRAP",
}
CODE_LENGTH_MAX = 40
LOOKUP_BATCH_MAX = 500


BARCODE_LENGTH_MAX = 64  # a warehouse's staging area adds "-STAGE" to it
LocationCode = Annotated[str, msgspec.Meta(min_length=1, max_length=CODE_LENGTH_MAX, pattern=bounds.ONE_LINE,
                                            examples=["WH1-A-01"])]


class NewLocation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: LocationCode
    kind: Literal["warehouse", "zone", "bin"]
    parent: LocationCode | None = None  # warehouse for a zone, zone for a bin
    name: bounds.OptionalName = ""
    barcode: Annotated[str, msgspec.Meta(max_length=BARCODE_LENGTH_MAX, pattern=bounds.ONE_LINE)] = ""  # default: code
    walk_seq: Annotated[int, msgspec.Meta(ge=0, le=bounds.INT32_MAX)] = 0  # INTEGER column


@dataclass(frozen=True, slots=True)
class LocationView:
    id: int
    code: str
    barcode: str
    name: str
    kind: LocationKind
    parent_id: int | None
    warehouse_id: int | None
    walk_seq: int

    @property
    def holds_stock(self) -> bool:
        return self.kind in STOCK_KINDS


_COLUMNS = "id, code, barcode, name, kind, parent_id, warehouse_id, walk_seq"


@dataclass(frozen=True, slots=True)
class _KeyedLocation(LocationView):
    code_key: str


async def find_location(code: str) -> LocationView | None:
    return await db.fetch_one_as(LocationView, f"SELECT {_COLUMNS} FROM locations WHERE code_key = {{}}",
                                 code.strip().casefold())


async def locations_by_code_key(keys: list[str]) -> dict[str, LocationView]:
    """Locations by lower-cased code, read in bounded batches (catalogue imports)."""
    found: dict[str, LocationView] = {}
    for start in range(0, len(keys), LOOKUP_BATCH_MAX):
        batch = keys[start:start + LOOKUP_BATCH_MAX]
        marks = ", ".join("{}" for _ in batch)
        rows = await db.fetch_as(
            _KeyedLocation, f"SELECT {_COLUMNS}, code_key FROM locations WHERE code_key IN ({marks})", *batch)
        found.update({r.code_key: r for r in rows})
    return found


async def get_location(code: str) -> LocationView:
    loc = await find_location(code)
    if loc is None:
        raise UnknownLocation(code)
    return loc


async def get_location_by_id(location_id: int) -> LocationView:
    loc = await db.fetch_one_as(LocationView, f"SELECT {_COLUMNS} FROM locations WHERE id = {{}}", location_id)
    if loc is None:
        raise UnknownLocation(f"#{location_id}")
    return loc


async def find_by_barcode(code: str) -> LocationView | None:
    return await db.fetch_one_as(LocationView, f"SELECT {_COLUMNS} FROM locations WHERE barcode = {{}}", code.strip())


async def scanned_locations(codes: list[str]) -> dict[str, LocationView]:
    """The locations scanned codes name, in one statement: by barcode, else by code (as
    `find_by_barcode(code) or find_location(code)` reads one). Codes that name none are left out."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))[:LOOKUP_BATCH_MAX]
    if not wanted:
        return {}
    marks = ", ".join("{}" for _ in wanted)
    rows = await db.fetch_as(
        _KeyedLocation,
        f"SELECT {_COLUMNS}, code_key FROM locations WHERE barcode IN ({marks}) OR code_key IN ({marks})",
        *wanted, *(c.casefold() for c in wanted),
    )
    by_barcode: dict[str, LocationView] = {r.barcode: r for r in rows}
    by_code: dict[str, LocationView] = {r.code_key: r for r in rows}
    found = {c: by_barcode.get(c) or by_code.get(c.casefold()) for c in wanted}
    return {c: loc for c, loc in found.items() if loc is not None}


async def find_scanned_location(code: str) -> LocationView | None:
    """The location a scanned code names (its barcode, else its code), in one statement."""
    return (await scanned_locations([code])).get(code.strip())


async def virtual(kind: str) -> LocationView:
    return await get_location(VIRTUAL_CODES[kind])


async def staging_of(warehouse_id: int) -> LocationView:
    staging = await db.fetch_one_as(
        LocationView,
        f"SELECT {_COLUMNS} FROM locations WHERE warehouse_id = {{}} AND kind = 'staging' ORDER BY id LIMIT 1",
        warehouse_id,
    )
    if staging is None:
        raise UnknownLocation(f"staging area of warehouse #{warehouse_id}")
    return staging


async def list_locations(kind: str | None = None, after_id: int = 0, limit: int = 100) -> list[LocationView]:
    return await db.fetch_as(
        LocationView,
        f"SELECT {_COLUMNS} FROM locations WHERE id > {{}} AND ({{}} = '' OR kind = {{}})"
        " ORDER BY id LIMIT {}",
        after_id,
        kind or "",
        kind or "",
        limit,
    )


def _check_code(code: str) -> str:
    cleaned = code.strip()
    if not cleaned or len(cleaned) > CODE_LENGTH_MAX or any(c.isspace() for c in cleaned):
        raise InvalidInput(f"Location code must be 1–{CODE_LENGTH_MAX} characters without spaces, got {code!r}.")
    return cleaned


def check_code(code: str) -> str:
    """A location code's shape (what create_location checks first); returns it cleaned."""
    return _check_code(code)


async def _insert(code: str, barcode: str, name: str, kind: LocationKind, parent_id: int | None,
                  warehouse_id: int | None, walk_seq: int) -> int:
    if await find_location(code) is not None:
        raise AlreadyExists(f"Location {code} already exists.")
    taken = await db.fetch_one(
        "SELECT 1 AS taken FROM locations WHERE barcode = {} UNION ALL SELECT 1 FROM barcodes WHERE code = {}",
        barcode,
        barcode,
    )
    if taken:
        raise AlreadyExists(f"Barcode {barcode} is already in use.")
    row = await db.fetch_one(
        "INSERT INTO locations (code, code_key, barcode, name, kind, parent_id, warehouse_id, walk_seq)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        code,
        code.casefold(),
        barcode,
        name,
        kind,
        parent_id,
        warehouse_id,
        walk_seq,
    )
    assert row is not None
    return int(row["id"])


async def create_in_transaction(spec: NewLocation) -> LocationView:
    bounds.checked(spec, "New location")
    code = _check_code(spec.code)
    barcode = (spec.barcode or code).strip()
    if spec.kind == "warehouse":
        if spec.parent:
            raise InvalidInput("A warehouse has no parent location.")
        wh_id = await _insert(code, barcode, spec.name, "warehouse", None, None, 0)
        await db.fetch("UPDATE locations SET warehouse_id = {} WHERE id = {}", wh_id, wh_id)
        # Every warehouse gets a staging area where picked stock waits for packing and shipping.
        await _insert(f"{code}-STAGE", f"{barcode}-STAGE", f"{code} staging", "staging", wh_id, wh_id, 0)
        return await get_location_by_id(wh_id)
    expected_parent = {"zone": "warehouse", "bin": "zone"}.get(spec.kind)
    if expected_parent is None:
        raise InvalidInput(f"Location kind must be warehouse, zone or bin, got {spec.kind!r}.")
    if not spec.parent:
        raise InvalidInput(f"A {spec.kind} needs a parent {expected_parent}.")
    parent = await get_location(spec.parent)
    if parent.kind != expected_parent:
        raise InvalidInput(
            f"The parent of a {spec.kind} must be a {expected_parent}; {parent.code} is a {parent.kind}.")
    new_id = await _insert(code, barcode, spec.name, spec.kind, parent.id, parent.warehouse_id, spec.walk_seq)
    return await get_location_by_id(new_id)


async def create_location(spec: NewLocation, actor: audit.Actor = SYSTEM) -> LocationView:
    return await db.run_in_transaction(_creating(spec, actor))


async def create_location_once(spec: NewLocation, actor: audit.Actor, *, key: str | None) -> Outcome[LocationView]:
    """create_location once per idempotency key: a retry answers with the location the first request made."""
    return await run_keyed("LocationCreate", spec, key=key, actor=actor.label, work=_creating(spec, actor),
                           again=lambda stored: get_location_by_id(stored["id"]))


def _creating(spec: NewLocation, actor: audit.Actor) -> Callable[[], Awaitable[LocationView]]:
    async def work() -> LocationView:
        loc = await create_in_transaction(spec)
        await audit.record(actor, "location.create", "location", loc.id, after=msgspec.to_builtins(spec))
        return loc

    return work
