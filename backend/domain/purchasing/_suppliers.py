"""Suppliers and the items each one sells us (cost, MOQ, case pack, lead time, preferred).

The item's row may override the supplier's MOQ, case pack and lead time; `SupplierItemView` carries
both the override and the value that holds (`moq`, `case_pack`, `lead_time_days`), so replenishment
rounds with the effective numbers and the screen can show where they come from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from backend import db
from backend.domain import bounds
from backend.domain.auth import audit
from backend.domain.catalog.service import get_item
from backend.domain.errors import AlreadyExists, UnknownReference
from backend.domain.idempotency import Outcome, run_keyed
from backend.domain.quantities import QTY_MAX

SUPPLIER_CODE_LENGTH_MAX = 32
LEAD_TIME_DAYS_MAX = 3650
UNIT_COST_MINOR_MAX = bounds.UNIT_COST_CENTS_MAX
SUPPLIERS_PAGE_MAX = 500

SupplierCode = Annotated[str, msgspec.Meta(min_length=1, max_length=SUPPLIER_CODE_LENGTH_MAX,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", examples=["ACME"])]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", examples=["EUR"])]  # ISO 4217
LeadTimeDays = Annotated[int, msgspec.Meta(ge=0, le=LEAD_TIME_DAYS_MAX)]
UnitCostMinor = Annotated[int, msgspec.Meta(ge=0, le=UNIT_COST_MINOR_MAX)]
Email = Annotated[str, msgspec.Meta(max_length=bounds.NAME_LENGTH_MAX, pattern=bounds.ONE_LINE)]


class SupplierSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A new supplier, or every editable field of one (the code never changes: POs print it)."""

    name: bounds.Name
    currency: Currency
    lead_time_days: LeadTimeDays = 0
    moq: bounds.Qty = 1
    case_pack: bounds.Qty = 1
    email: Email = ""
    note: bounds.Text = ""
    active: bool = True


class NewSupplier(SupplierSpec, frozen=True, forbid_unknown_fields=True, kw_only=True):
    code: SupplierCode


class SupplierItemSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What one supplier charges for one item; None overrides mean "the supplier's own"."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=bounds.ONE_LINE)]
    supplier_sku: bounds.OptionalName = ""
    unit_cost_minor: UnitCostMinor = 0
    moq: Annotated[int, msgspec.Meta(ge=1, le=QTY_MAX)] | None = None
    case_pack: Annotated[int, msgspec.Meta(ge=1, le=QTY_MAX)] | None = None
    lead_time_days: LeadTimeDays | None = None
    preferred: bool = False


class SupplierView(msgspec.Struct, frozen=True):
    id: int
    code: str
    name: str
    currency: str
    lead_time_days: int
    moq: int
    case_pack: int
    email: str
    note: str
    active: bool
    created_at: datetime


class SupplierItemView(msgspec.Struct, frozen=True):
    supplier_id: int
    supplier_code: str
    supplier_name: str
    currency: str
    item_id: int
    sku: str
    item_name: str
    supplier_sku: str
    unit_cost_minor: int
    moq: int  # what holds: the item's override or the supplier's
    case_pack: int
    lead_time_days: int
    moq_override: int | None
    case_pack_override: int | None
    lead_time_days_override: int | None
    preferred: bool
    active: bool  # the supplier's


class UnknownSupplier(UnknownReference):
    code = "unknown_supplier"

    def __init__(self, what: str) -> None:
        super().__init__(f"No supplier {what}.")


_SUPPLIER_COLUMNS = "id, code, name, currency, lead_time_days, moq, case_pack, email, note, active, created_at"
_LINK_SELECT = (
    "SELECT si.supplier_id, s.code AS supplier_code, s.name AS supplier_name, s.currency, si.item_id, i.sku,"
    " i.name AS item_name, si.supplier_sku, si.unit_cost_minor, COALESCE(si.moq, s.moq) AS moq,"
    " COALESCE(si.case_pack, s.case_pack) AS case_pack,"
    " COALESCE(si.lead_time_days, s.lead_time_days) AS lead_time_days, si.moq AS moq_override,"
    " si.case_pack AS case_pack_override, si.lead_time_days AS lead_time_days_override, si.preferred, s.active"
    " FROM supplier_items si JOIN suppliers s ON s.id = si.supplier_id JOIN items i ON i.id = si.item_id"
)


def normal_code(code: str) -> str:
    return code.strip().upper()


async def get_supplier(supplier_id: int) -> SupplierView:
    rows = await db.fetch(f"SELECT {_SUPPLIER_COLUMNS} FROM suppliers WHERE id = {{}}", supplier_id)
    if not rows:
        raise UnknownSupplier(f"#{supplier_id}")
    return msgspec.convert(rows[0], SupplierView, strict=False)


async def find_supplier(code: str) -> SupplierView | None:
    rows = await db.fetch(f"SELECT {_SUPPLIER_COLUMNS} FROM suppliers WHERE code = {{}}", normal_code(code))
    return msgspec.convert(rows[0], SupplierView, strict=False) if rows else None


async def list_suppliers(*, active_only: bool = False, limit: int = SUPPLIERS_PAGE_MAX) -> list[SupplierView]:
    rows = await db.fetch(f"SELECT {_SUPPLIER_COLUMNS} FROM suppliers WHERE ({{}} = 0 OR active)"
                          " ORDER BY code LIMIT {}", int(active_only), max(1, min(limit, SUPPLIERS_PAGE_MAX)))
    return msgspec.convert(rows, list[SupplierView], strict=False)


async def supplier_items(*, supplier_id: int | None = None, item_ids: list[int] | None = None,
                         preferred_only: bool = False) -> list[SupplierItemView]:
    """Supplier terms per item (effective MOQ, case pack, lead time), by supplier or by items."""
    where, args = ["({} = 0 OR si.preferred)"], [int(preferred_only)]
    if supplier_id is not None:
        where.append("si.supplier_id = {}")
        args.append(supplier_id)
    if item_ids is not None:
        if not item_ids:
            return []
        where.append(f"si.item_id IN ({', '.join('{}' for _ in item_ids)})")
        args.extend(item_ids)
    rows = await db.fetch(f"{_LINK_SELECT} WHERE {' AND '.join(where)} ORDER BY i.sku_key, s.code", *args)
    return msgspec.convert(rows, list[SupplierItemView], strict=False)


async def create_supplier(spec: NewSupplier, *, actor: audit.Actor, key: str) -> SupplierView:
    return (await create_supplier_once(spec, actor=actor, key=key)).value


async def create_supplier_once(spec: NewSupplier, *, actor: audit.Actor, key: str) -> Outcome[SupplierView]:
    bounds.checked(spec, "Supplier")

    async def work() -> SupplierView:
        code = normal_code(spec.code)
        if await find_supplier(code) is not None:
            raise AlreadyExists(f"Supplier {code} already exists.")
        now = datetime.now(UTC)
        row = await db.fetch_one(
            "INSERT INTO suppliers (code, name, currency, lead_time_days, moq, case_pack, email, note, active,"
            " created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
            code, spec.name.strip(), spec.currency, spec.lead_time_days, spec.moq, spec.case_pack,
            spec.email.strip(), spec.note, spec.active, now, now)
        assert row is not None
        await audit.record(actor, "supplier.create", "supplier", row["id"], after=msgspec.to_builtins(spec))
        return await get_supplier(row["id"])

    return await run_keyed("SupplierCreate", spec, key=key, actor=actor.label, work=work,
                           again=lambda stored: get_supplier(stored["id"]))


async def update_supplier(supplier_id: int, spec: SupplierSpec, *, actor: audit.Actor,
                          key: str) -> SupplierView:
    bounds.checked(spec, "Supplier")

    async def work() -> SupplierView:
        before = await get_supplier(supplier_id)
        await db.fetch(
            "UPDATE suppliers SET name = {}, currency = {}, lead_time_days = {}, moq = {}, case_pack = {},"
            " email = {}, note = {}, active = {}, updated_at = {} WHERE id = {}",
            spec.name.strip(), spec.currency, spec.lead_time_days, spec.moq, spec.case_pack, spec.email.strip(),
            spec.note, spec.active, datetime.now(UTC), supplier_id)
        await audit.record(actor, "supplier.update", "supplier", supplier_id,
                           before=msgspec.to_builtins(before), after=msgspec.to_builtins(spec))
        return await get_supplier(supplier_id)

    payload = {"supplier_id": supplier_id, **msgspec.to_builtins(spec)}
    return (await run_keyed("SupplierUpdate", payload, key=key, actor=actor.label, work=work,
                            again=lambda stored: get_supplier(stored["id"]))).value


async def link_supplier_item(supplier_id: int, spec: SupplierItemSpec, *, actor: audit.Actor,
                             key: str) -> SupplierItemView:
    """Create or change what `supplier_id` charges for an item. Marking it preferred takes the mark from
    the item's other supplier (one preferred supplier per item, enforced by a unique index)."""
    bounds.checked(spec, "Supplier item")
    payload = {"supplier_id": supplier_id, **msgspec.to_builtins(spec)}
    return (await run_keyed("SupplierItemLink", payload, key=key, actor=actor.label,
                            work=_linking(supplier_id, spec, actor), again=_link_again)).value


def _linking(supplier_id: int, spec: SupplierItemSpec, actor: audit.Actor) -> Callable[[], Awaitable[SupplierItemView]]:
    async def work() -> SupplierItemView:
        await get_supplier(supplier_id)
        item = await get_item(spec.sku)
        now = datetime.now(UTC)
        if spec.preferred:
            await db.fetch("UPDATE supplier_items SET preferred = FALSE, updated_at = {}"
                           " WHERE item_id = {} AND supplier_id <> {} AND preferred", now, item.id, supplier_id)
        await db.fetch(
            "INSERT INTO supplier_items (supplier_id, item_id, supplier_sku, unit_cost_minor, moq, case_pack,"
            " lead_time_days, preferred, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
            " ON CONFLICT (supplier_id, item_id) DO UPDATE SET supplier_sku = excluded.supplier_sku,"
            " unit_cost_minor = excluded.unit_cost_minor, moq = excluded.moq, case_pack = excluded.case_pack,"
            " lead_time_days = excluded.lead_time_days, preferred = excluded.preferred,"
            " updated_at = excluded.updated_at",
            supplier_id, item.id, spec.supplier_sku.strip(), spec.unit_cost_minor, spec.moq, spec.case_pack,
            spec.lead_time_days, spec.preferred, now, now)
        await audit.record(actor, "supplier.link_item", "supplier", supplier_id, after=msgspec.to_builtins(spec))
        return await _link(supplier_id, item.id)

    return work


async def _link(supplier_id: int, item_id: int) -> SupplierItemView:
    rows = await db.fetch(f"{_LINK_SELECT} WHERE si.supplier_id = {{}} AND si.item_id = {{}}", supplier_id, item_id)
    if not rows:
        raise UnknownReference(f"Supplier #{supplier_id} does not sell item #{item_id}.")
    return msgspec.convert(rows[0], SupplierItemView, strict=False)


async def _link_again(stored: Any) -> SupplierItemView:
    return await _link(stored["supplier_id"], stored["item_id"])
