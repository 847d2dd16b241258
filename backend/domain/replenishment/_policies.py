"""Replenishment policies per item and warehouse, and the default for pairs without one.

**Default policy**: reorder point with safety stock at a 95 % cycle service level (z ≈ 1.645), an
order covering 7 days of demand beyond the reorder point. It needs nothing from the manager (min/max
would need numbers nobody has entered) and follows demand as it changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from backend import db
from backend.domain import bounds, idempotency
from backend.domain.auth import audit
from backend.domain.catalog.service import get_item
from backend.domain.errors import InvalidInput
from backend.domain.locations.service import get_location
from backend.domain.replenishment._formulas import (
    POLICY_KINDS,
    SERVICE_LEVEL_MAX,
    SERVICE_LEVEL_MIN,
    PolicyKind,
)
from backend.domain.replenishment._inputs import PolicyRow

DEFAULT_POLICY = PolicyRow(kind="rop", service_level=0.95, review_days=7, min_qty=0, max_qty=0)
DEFAULT_LEAD_DAYS = 14  # an item no supplier sells yet: a cautious two weeks, σL = 0
REVIEW_DAYS_MAX = 365


class PolicySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    item_id: bounds.Id
    warehouse_id: bounds.Id
    kind: PolicyKind
    service_level: Annotated[float, msgspec.Meta(ge=SERVICE_LEVEL_MIN, le=SERVICE_LEVEL_MAX)] = 0.95
    review_days: Annotated[int, msgspec.Meta(ge=0, le=REVIEW_DAYS_MAX)] = 7
    min_qty: Annotated[int, msgspec.Meta(ge=0)] = 0
    max_qty: Annotated[int, msgspec.Meta(ge=0)] = 0


async def set_policy(spec: PolicySpec, *, actor: audit.Actor) -> None:
    """Create or replace the pair's policy (setting it twice to the same values changes nothing)."""
    checked = bounds.checked(spec, "Replenishment policy")
    if checked.kind == "minmax" and checked.max_qty < checked.min_qty:
        raise InvalidInput(f"Max ({checked.max_qty}) must be at least min ({checked.min_qty}).")
    if checked.kind == "minmax" and checked.max_qty == 0:
        raise InvalidInput("A min/max policy needs a max above 0.")

    async def work() -> None:
        await db.fetch(
            "INSERT INTO replenishment_policies (item_id, warehouse_id, kind, service_level, review_days, min_qty,"
            " max_qty, updated_at, updated_by) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})"
            " ON CONFLICT (item_id, warehouse_id) DO UPDATE SET kind = excluded.kind,"
            " service_level = excluded.service_level, review_days = excluded.review_days,"
            " min_qty = excluded.min_qty, max_qty = excluded.max_qty, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            checked.item_id, checked.warehouse_id, checked.kind, checked.service_level, checked.review_days,
            checked.min_qty, checked.max_qty, datetime.now(UTC), actor.label)

    await db.run_in_transaction(work)


class PolicyView(msgspec.Struct, frozen=True):
    sku: str
    warehouse_code: str
    kind: PolicyKind
    service_level: float
    review_days: int
    min_qty: int
    max_qty: int
    updated_by: str


POLICIES_SHOWN_MAX = 200


async def set_policy_by_codes(sku: str, warehouse_code: str, *, kind: str, service_level: float, review_days: int,
                              min_qty: int, max_qty: int, actor: audit.Actor, key: str) -> PolicyView:
    """The screen's form: the item by SKU, the warehouse by its code; once per key, so a form sent again
    after a lost answer cannot undo a policy someone set in between (it gets the first answer)."""
    item = await get_item(sku)
    warehouse = await get_location(warehouse_code)
    if warehouse.kind != "warehouse":
        raise InvalidInput(f"{warehouse.code} is a {warehouse.kind}: a policy is set per warehouse.")
    chosen = next((known for known in POLICY_KINDS if known == kind), None)
    if chosen is None:
        raise InvalidInput(f"Policy is one of {', '.join(POLICY_KINDS)}.")
    spec = PolicySpec(item_id=item.id, warehouse_id=warehouse.id, kind=chosen, service_level=service_level,
                      review_days=review_days, min_qty=min_qty, max_qty=max_qty)

    async def work() -> PolicyView:
        await set_policy(spec, actor=actor)  # its bounds are checked there
        return PolicyView(item.sku, warehouse.code, spec.kind, spec.service_level, spec.review_days, spec.min_qty,
                          spec.max_qty, actor.label)

    async def replay(first: Any) -> PolicyView:
        return msgspec.convert(first, PolicyView)

    return await idempotency.run_once("replenishment.policy", spec, key=key, actor=actor.label, work=work,
                                      replay=replay)


async def list_policies(limit: int = POLICIES_SHOWN_MAX) -> list[PolicyView]:
    rows = await db.fetch(
        "SELECT i.sku, w.code AS warehouse_code, p.kind, p.service_level, p.review_days, p.min_qty, p.max_qty,"
        " p.updated_by FROM replenishment_policies p JOIN items i ON i.id = p.item_id"
        " JOIN locations w ON w.id = p.warehouse_id ORDER BY w.code_key, i.sku_key LIMIT {}",
        max(1, min(limit, POLICIES_SHOWN_MAX)))
    return msgspec.convert(rows, list[PolicyView], strict=False)
