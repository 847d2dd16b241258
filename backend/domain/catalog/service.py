"""Item master: items, units of measure, barcodes and kits."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated

import msgspec

from backend import db
from backend.domain import bounds
from backend.domain.auth import audit
from backend.domain.auth.audit import SYSTEM
from backend.domain.catalog.gs1 import (
    BarcodeReading,
    is_gtin_shaped,
    item_codes,
    read_barcode,
    trade_item_count,
    validate_gtin,
)
from backend.domain.errors import (
    AlreadyExists,
    InvalidBarcode,
    InvalidInput,
    PalletLabel,
    UnknownBarcode,
    UnknownItem,
)
from backend.domain.idempotency import Outcome, run_keyed
from backend.domain.quantities import require_qty

SKU_LENGTH_MAX = 64
BARCODE_LENGTH_MAX = 128
LOOKUP_BATCH_MAX = 500


Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=SKU_LENGTH_MAX, pattern=bounds.ONE_LINE,
                                   examples=["MUG-BLUE"])]
BarcodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=BARCODE_LENGTH_MAX, pattern=bounds.ONE_LINE,
                                          examples=["4006381333931"])]
AttrName = Annotated[str, msgspec.Meta(min_length=1, max_length=bounds.UNIT_LENGTH_MAX, pattern=bounds.ONE_LINE)]
AttrValue = Annotated[str, msgspec.Meta(max_length=bounds.NAME_LENGTH_MAX, pattern=bounds.ONE_LINE)]
# The OpenAPI generator does not look inside a dict's type arguments: state the same bounds for it.
_ATTRS_SCHEMA = {"max_properties": bounds.VARIANT_ATTRS_MAX,
                 "property_names": {"maxLength": bounds.UNIT_LENGTH_MAX, "minLength": 1, "pattern": bounds.ONE_LINE},
                 "additional_properties": {"type": "string", "maxLength": bounds.NAME_LENGTH_MAX,
                                           "pattern": bounds.ONE_LINE}}
VariantAttrs = Annotated[dict[AttrName, AttrValue],
                         msgspec.Meta(max_length=bounds.VARIANT_ATTRS_MAX, extra_json_schema={"extra": _ATTRS_SCHEMA})]


class UnitSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    unit: bounds.Unit
    factor: bounds.Qty


class BarcodeSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: BarcodeText
    unit: bounds.OptionalUnit = ""  # empty = the item's base unit


class ComponentSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: Sku
    qty: bounds.Qty


class NewItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sku: Sku
    name: bounds.Name
    base_unit: bounds.Unit = "each"
    units: Annotated[list[UnitSpec], msgspec.Meta(max_length=bounds.LIST_LENGTH_MAX)] = []
    barcodes: Annotated[list[BarcodeSpec], msgspec.Meta(max_length=bounds.LIST_LENGTH_MAX)] = []
    lot_tracked: bool = False
    serial_tracked: bool = False
    parent_sku: Sku | None = None
    variant_attrs: VariantAttrs = {}
    # Non-empty: the item is a kit of these components.
    components: Annotated[list[ComponentSpec], msgspec.Meta(max_length=bounds.LIST_LENGTH_MAX)] = []
    unit_cost_cents: Annotated[int, msgspec.Meta(ge=0, le=bounds.UNIT_COST_CENTS_MAX)] = 0


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    sku: str
    name: str
    base_unit: str
    active: bool
    lot_tracked: bool
    serial_tracked: bool
    is_kit: bool
    unit_cost_cents: int
    parent_id: int | None
    variant_attrs: dict[str, str]
    units: dict[str, int] = field(default_factory=dict)

    def factor(self, unit: str | None) -> int:
        if not unit or unit == self.base_unit:
            return 1
        if unit not in self.units:
            known = ", ".join(sorted(self.units)) or self.base_unit
            raise InvalidInput(f"{self.sku} has no unit {unit!r} (known: {known}).")
        return self.units[unit]


def sku_key(sku: str) -> str:
    return sku.strip().casefold()


def _validate_sku(sku: str) -> str:
    cleaned = sku.strip()
    if not cleaned or len(cleaned) > SKU_LENGTH_MAX or any(c.isspace() for c in cleaned):
        raise InvalidInput(f"SKU must be 1–{SKU_LENGTH_MAX} characters without spaces, got {sku!r}.")
    return cleaned


def _validate_barcode(code: str) -> str:
    cleaned = code.strip()
    if not cleaned or len(cleaned) > BARCODE_LENGTH_MAX:
        raise InvalidInput(f"Barcode must be 1–{BARCODE_LENGTH_MAX} characters.")
    if is_gtin_shaped(cleaned):
        validate_gtin(cleaned)
    return cleaned


class _ItemRow(msgspec.Struct, frozen=True):
    """An items row as read: `_ITEM_COLUMNS` (and `sku_key` where the query selects it)."""

    id: int
    sku: str
    name: str
    base_unit: str
    active: bool
    lot_tracked: bool
    serial_tracked: bool
    is_kit: bool
    unit_cost_cents: int
    parent_id: int | None
    variant_attrs: str  # JSON text
    sku_key: str = ""


class _UnitRow(msgspec.Struct, frozen=True):
    item_id: int
    unit: str
    factor: int


def _row_to_item(row: _ItemRow, units: dict[str, int]) -> ItemView:
    return ItemView(
        id=row.id,
        sku=row.sku,
        name=row.name,
        base_unit=row.base_unit,
        active=row.active,
        lot_tracked=row.lot_tracked,
        serial_tracked=row.serial_tracked,
        is_kit=row.is_kit,
        unit_cost_cents=row.unit_cost_cents,
        parent_id=row.parent_id,
        variant_attrs=json.loads(row.variant_attrs or "{}"),
        units=units,
    )


_ITEM_COLUMNS = (
    "id, sku, name, base_unit, active, lot_tracked, serial_tracked, is_kit, unit_cost_cents,"
    " parent_id, variant_attrs"
)


async def _units_for(item_ids: list[int]) -> dict[int, dict[str, int]]:
    units: dict[int, dict[str, int]] = {i: {} for i in item_ids}
    if not item_ids:
        return units
    marks = ", ".join("{}" for _ in item_ids)
    for r in await db.fetch_as(_UnitRow, f"SELECT item_id, unit, factor FROM item_units WHERE item_id IN ({marks})",
                               *item_ids):
        units[r.item_id][r.unit] = r.factor
    return units


async def items_by_sku_key(keys: list[str]) -> dict[str, ItemView]:
    """Items by `sku_key`, read in bounded batches (catalogue imports look up thousands at once)."""
    found: dict[str, ItemView] = {}
    for start in range(0, len(keys), LOOKUP_BATCH_MAX):
        batch = keys[start:start + LOOKUP_BATCH_MAX]
        marks = ", ".join("{}" for _ in batch)
        rows = await db.fetch_as(_ItemRow, f"SELECT {_ITEM_COLUMNS}, sku_key FROM items WHERE sku_key IN ({marks})",
                                 *batch)
        units = await _units_for([r.id for r in rows])
        found.update({r.sku_key: _row_to_item(r, units[r.id]) for r in rows})
    return found


async def items_by_id(ids: list[int]) -> dict[int, ItemView]:
    """Items by id, read in bounded batches (a count's lines, a batch of postings)."""
    found: dict[int, ItemView] = {}
    for start in range(0, len(ids), LOOKUP_BATCH_MAX):
        batch = ids[start:start + LOOKUP_BATCH_MAX]
        marks = ", ".join("{}" for _ in batch)
        rows = await db.fetch_as(_ItemRow, f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN ({marks})", *batch)
        units = await _units_for([r.id for r in rows])
        found.update({r.id: _row_to_item(r, units[r.id]) for r in rows})
    return found


async def find_item(sku: str) -> ItemView | None:
    row = await db.fetch_one_as(_ItemRow, f"SELECT {_ITEM_COLUMNS} FROM items WHERE sku_key = {{}}", sku_key(sku))
    if row is None:
        return None
    return _row_to_item(row, (await _units_for([row.id]))[row.id])


async def get_item(sku: str) -> ItemView:
    item = await find_item(sku)
    if item is None:
        raise UnknownItem(sku)
    return item


async def get_item_by_id(item_id: int) -> ItemView:
    row = await db.fetch_one_as(_ItemRow, f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = {{}}", item_id)
    if row is None:
        raise UnknownItem(f"#{item_id}")
    return _row_to_item(row, (await _units_for([item_id]))[item_id])


async def list_items(after_sku_key: str = "", limit: int = 50, query: str = "") -> list[ItemView]:
    pattern = f"%{query.casefold()}%"
    rows = await db.fetch_as(
        _ItemRow,
        f"SELECT {_ITEM_COLUMNS}, sku_key FROM items WHERE sku_key > {{}}"
        " AND (sku_key LIKE {} OR LOWER(name) LIKE {}) ORDER BY sku_key LIMIT {}",
        after_sku_key,
        pattern,
        pattern,
        limit,
    )
    units = await _units_for([r.id for r in rows])
    return [_row_to_item(r, units[r.id]) for r in rows]


async def barcodes_of(item_id: int) -> list[dict[str, str]]:
    rows = await db.fetch("SELECT code, unit FROM barcodes WHERE item_id = {} ORDER BY code", item_id)
    return [{"code": r["code"], "unit": r["unit"]} for r in rows]


async def kit_components(kit_id: int) -> list[tuple[int, int]]:
    rows = await db.fetch(
        "SELECT component_id, qty FROM kit_components WHERE kit_id = {} ORDER BY component_id", kit_id
    )
    return [(r["component_id"], r["qty"]) for r in rows]


async def _barcode_taken(code: str) -> bool:
    row = await db.fetch_one(
        "SELECT 1 AS taken FROM barcodes WHERE code = {} UNION ALL SELECT 1 FROM locations WHERE barcode = {}",
        code,
        code,
    )
    return row is not None


async def _insert_barcode(item: ItemView, spec: BarcodeSpec) -> None:
    code = _validate_barcode(spec.code)
    unit = spec.unit or item.base_unit
    item.factor(unit)  # raises for a unit the item does not have
    if await _barcode_taken(code):
        raise AlreadyExists(f"Barcode {code} is already in use.")
    await db.fetch("INSERT INTO barcodes (code, item_id, unit) VALUES ({}, {}, {})", code, item.id, unit)


def _check_new_item(spec: NewItem) -> str:
    bounds.checked(spec, "New item")
    sku = _validate_sku(spec.sku)
    if not spec.name.strip():
        raise InvalidInput("Item name is required.")
    if spec.unit_cost_cents < 0:
        raise InvalidInput("Unit cost cannot be negative.")
    seen = {spec.base_unit}
    for u in spec.units:
        require_qty(u.factor, f"Factor of unit {u.unit!r}")
        if u.unit in seen:
            raise InvalidInput(f"Unit {u.unit!r} is listed twice.")
        seen.add(u.unit)
    if spec.components and (spec.lot_tracked or spec.serial_tracked):
        raise InvalidInput("A kit is built from its components and cannot be lot or serial tracked.")
    return sku


def check_item_spec(spec: NewItem) -> str:
    """The checks create_item makes before touching the database; returns the cleaned SKU."""
    return _check_new_item(spec)


def check_barcode(code: str) -> str:
    """A barcode's shape and, for GTINs, its check digit; returns it cleaned."""
    return _validate_barcode(code)


async def create_item(spec: NewItem, actor: audit.Actor = SYSTEM) -> ItemView:
    """Create an item with its units, barcodes and kit components, in one transaction."""
    return await db.run_in_transaction(_creating_item(spec, actor))


async def create_item_once(spec: NewItem, actor: audit.Actor, *, key: str | None) -> Outcome[ItemView]:
    """create_item once per idempotency key: a retry answers with the item the first request made."""
    return await run_keyed("ItemCreate", spec, key=key, actor=actor.label, work=_creating_item(spec, actor),
                           again=lambda stored: get_item_by_id(stored["id"]))


def _creating_item(spec: NewItem, actor: audit.Actor) -> Callable[[], Awaitable[ItemView]]:
    sku = _check_new_item(spec)

    async def work() -> ItemView:
        if await find_item(sku) is not None:
            raise AlreadyExists(f"SKU {sku} already exists.")
        parent_id = (await get_item(spec.parent_sku)).id if spec.parent_sku else None
        row = await db.fetch_one(
            "INSERT INTO items (sku, sku_key, name, base_unit, lot_tracked, serial_tracked, is_kit,"
            " unit_cost_cents, parent_id, variant_attrs, created_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
            sku,
            sku_key(sku),
            spec.name.strip(),
            spec.base_unit,
            spec.lot_tracked,
            spec.serial_tracked,
            bool(spec.components),
            spec.unit_cost_cents,
            parent_id,
            json.dumps(spec.variant_attrs, sort_keys=True),
            datetime.now(UTC),
        )
        assert row is not None
        for u in spec.units:
            await db.fetch(
                "INSERT INTO item_units (item_id, unit, factor) VALUES ({}, {}, {})", row["id"], u.unit, u.factor
            )
        item = await get_item_by_id(row["id"])
        for b in spec.barcodes:
            await _insert_barcode(item, b)
        for c in spec.components:
            component = await get_item(c.sku)
            if component.is_kit or component.id == item.id:
                raise InvalidInput(f"{c.sku} cannot be a component of kit {sku}.")
            await db.fetch(
                "INSERT INTO kit_components (kit_id, component_id, qty) VALUES ({}, {}, {})",
                item.id,
                component.id,
                require_qty(c.qty, f"Quantity of component {c.sku}"),
            )
        await audit.record(actor, "item.create", "item", item.id, after=msgspec.to_builtins(spec))
        return item

    return work


async def add_barcode(sku: str, spec: BarcodeSpec, actor: audit.Actor = SYSTEM) -> ItemView:
    return await db.run_in_transaction(_adding_barcode(sku, spec, actor))


async def add_barcode_once(sku: str, spec: BarcodeSpec, actor: audit.Actor, *, key: str | None) -> Outcome[ItemView]:
    """add_barcode once per idempotency key: a retry is answered, not refused as a barcode in use."""
    payload = {"sku": sku, **msgspec.to_builtins(spec)}
    return await run_keyed("ItemAddBarcode", payload, key=key, actor=actor.label,
                           work=_adding_barcode(sku, spec, actor),
                           again=lambda stored: get_item_by_id(stored["id"]))


def _adding_barcode(sku: str, spec: BarcodeSpec, actor: audit.Actor) -> Callable[[], Awaitable[ItemView]]:
    bounds.checked(spec, "Barcode")

    async def work() -> ItemView:
        item = await get_item(sku)
        await _insert_barcode(item, spec)
        await audit.record(actor, "item.add_barcode", "item", item.id, after=msgspec.to_builtins(spec))
        return item

    return work


@dataclass(frozen=True, slots=True)
class ScannedItem:
    """A scan resolved against the catalogue: the item, the barcode's unit, and what the label says."""

    item: ItemView
    unit: str
    factor: int  # base units in one `unit`
    count: int  # `unit`s the scan stands for (AI 37 × AI 30; 1 for a plain barcode)
    lot: str = ""
    expiry: date | None = None
    serial: str = ""
    reading: BarcodeReading | None = None  # None when the code was a SKU typed in

    @property
    def qty_base(self) -> int:
        return self.factor * self.count


def _lookup_forms(code: str) -> tuple[BarcodeReading, list[str]]:
    """The reading of a scanned code (`gs1.read_barcode`, tests/vectors/barcodes.json) and the catalogue
    barcodes that may name its item, best first."""
    reading = read_barcode(code)
    if reading.kind == "invalid":
        raise InvalidBarcode(reading.message)
    if reading.kind == "sscc":
        raise PalletLabel(f"{reading.sscc} is a pallet label (SSCC) that names no item: scan an item barcode.")
    return reading, item_codes(reading)


def _scanned(item: ItemView, unit: str, reading: BarcodeReading) -> ScannedItem:
    return ScannedItem(item=item, unit=unit, factor=item.factor(unit), count=trade_item_count(reading),
                       lot=reading.lot, expiry=reading.expiry, serial=reading.serial, reading=reading)


async def _items_for_forms(forms: list[str], sku_keys: list[str]) -> tuple[dict[str, tuple[ItemView, str]],
                                                                             dict[str, ItemView]]:
    """Items by barcode (with the barcode's unit) and by SKU key, with their units, in one statement."""
    if not forms and not sku_keys:
        return {}, {}
    def marks(values: list[str]) -> str:
        return ", ".join("{}" for _ in values)

    by_barcode = " UNION ALL ".join(
        part for part, args in (
            (f"SELECT code AS scanned, item_id, unit, 0 AS via FROM barcodes WHERE code IN ({marks(forms)})", forms),
            (f"SELECT sku_key, id, base_unit, 1 FROM items WHERE sku_key IN ({marks(sku_keys)})", sku_keys),
        ) if args
    )
    cols = ", ".join(f"i.{c.strip()}" for c in _ITEM_COLUMNS.split(","))
    rows = await db.fetch(
        f"SELECT x.scanned, x.unit AS scanned_unit, x.via, {cols}, u.unit AS u_unit, u.factor AS u_factor"
        f" FROM ({by_barcode}) x JOIN items i ON i.id = x.item_id LEFT JOIN item_units u ON u.item_id = i.id",
        *forms, *sku_keys,
    )
    units: dict[int, dict[str, int]] = {}
    for r in rows:
        units.setdefault(r["id"], {})
        if r["u_unit"] is not None:
            units[r["id"]][r["u_unit"]] = r["u_factor"]
    barcodes: dict[str, tuple[ItemView, str]] = {}
    skus: dict[str, ItemView] = {}
    for r in rows:
        item = _row_to_item(msgspec.convert(r, _ItemRow, strict=False), units[r["id"]])
        if r["via"] == 0:
            barcodes[r["scanned"]] = (item, r["scanned_unit"])
        else:
            skus[r["scanned"]] = item
    return barcodes, skus


async def resolve_item_codes(codes: list[str], *, skus: bool = True) -> dict[str, ScannedItem]:
    """What each scanned code names, read in one statement: an item barcode of any unit, a GS1 element
    string (GTIN, lot, expiry, serial, count), or, with `skus`, a SKU typed on the keypad (one unit).
    Codes that name no item are left out; a malformed barcode raises InvalidBarcode."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))[:LOOKUP_BATCH_MAX]
    read = {code: _lookup_forms(code) for code in wanted}
    forms = list(dict.fromkeys(f for _, candidates in read.values() for f in candidates))
    keys = list(dict.fromkeys(sku_key(c) for c in wanted)) if skus else []
    barcodes, by_sku = await _items_for_forms(forms, keys)
    found: dict[str, ScannedItem] = {}
    for code, (reading, candidates) in read.items():
        hit = next((barcodes[f] for f in candidates if f in barcodes), None)
        if hit is not None:
            found[code] = _scanned(hit[0], hit[1], reading)
        elif skus and sku_key(code) in by_sku:
            item = by_sku[sku_key(code)]
            found[code] = ScannedItem(item=item, unit=item.base_unit, factor=1, count=1)
    return found


def readable_item_code(code: str) -> bool:
    """Whether resolve_item_codes reads `code` without raising (a malformed barcode, a pallet label)."""
    try:
        _lookup_forms(code.strip())
    except InvalidBarcode:
        return False
    return True


async def resolve_item_scan(code: str) -> ScannedItem:
    """An item barcode of any unit, or a GS1 element string carrying GTIN, lot, expiry, serial, count.

    The reading is `gs1.read_barcode` (tests/vectors/barcodes.json); the catalogue says which item
    and unit the GTIN (or, for a logistic unit with AI 02, the contained GTIN) is.
    """
    code = code.strip()
    found = (await resolve_item_codes([code], skus=False)).get(code)
    if found is None:
        raise UnknownBarcode(code)
    return found
