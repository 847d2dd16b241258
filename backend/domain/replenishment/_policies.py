"""Replenishment policies per item and warehouse, and the default for pairs without one.

**Default policy**: reorder point with safety stock at a 95 % cycle service level (z ≈ 1.645), an
order covering 7 days of demand beyond the reorder point. It needs nothing from the manager (min/max
would need numbers nobody has entered) and follows demand as it changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from backend import db
from backend.domain import bounds
from backend.domain.auth import audit
from backend.domain.errors import InvalidInput
from backend.domain.replenishment._formulas import (
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
