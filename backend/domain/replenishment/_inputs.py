"""What a replenishment run reads, each in one set-based statement for all pairs (both databases).

**Demand** is what left a warehouse for a customer: ledger movements into the CUSTOMER location
(shipments, reason `shipment`), dated by the movement's UTC day, less reversals of such shipments
(CUSTOMER back to a bin, `reversal_of` set) on the reversal's day. Not demand: picks (a move from a bin
to the warehouse's staging area — counting them too would count each unit twice, and a pick not yet
shipped may still be put back), scrap and adjustments (losses, not sales), transfers between
warehouses, and customer returns that are not reversals (a return does not undo the demand that the
sale showed). A day's negative total (a reversal on a quiet day) counts as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import fmean, stdev
from typing import Any

import numpy as np

from backend import db
from backend.domain import purchasing
from backend.domain.replenishment._formulas import Floats

LEAD_TIME_HISTORY_DAYS = 365  # purchase orders sent in the last year tell the lead time


@dataclass(frozen=True, slots=True)
class DemandHistory:
    pairs: list[tuple[int, int]]  # (item_id, warehouse_id), one per row
    history: Floats  # pairs × days, oldest day first
    first_day: date


def _day_expr() -> str:
    if db.is_postgres():
        return "CAST((m.created_at AT TIME ZONE 'UTC') AS DATE)"
    return "substr(m.created_at, 1, 10)"  # SQLite holds UTC text: 'YYYY-MM-DD HH:MM:SS...'


async def demand_history(*, days: int, until: date) -> DemandHistory:
    """Daily demand per (item, warehouse) over the `days` UTC days before `until`, zero-filled: one
    grouped statement for every pair."""
    assert days > 0
    first_day = until - timedelta(days=days)
    since = datetime.combine(first_day, datetime.min.time(), UTC)
    stop = datetime.combine(until, datetime.min.time(), UTC)
    rows = await db.fetch(
        f"SELECT m.item_id, b.warehouse_id, {_day_expr()} AS day,"
        " SUM(CASE WHEN m.to_location_id = c.id THEN m.qty ELSE -m.qty END) AS qty"
        " FROM movements m"
        " JOIN locations c ON c.kind = 'customer'"
        "  AND (m.to_location_id = c.id OR (m.from_location_id = c.id AND m.reversal_of IS NOT NULL))"
        " JOIN locations b ON b.id = CASE WHEN m.to_location_id = c.id THEN m.from_location_id"
        "  ELSE m.to_location_id END"
        " WHERE m.created_at >= {} AND m.created_at < {} AND b.warehouse_id IS NOT NULL"
        f" GROUP BY m.item_id, b.warehouse_id, {_day_expr()}",
        since, stop)
    index: dict[tuple[int, int], int] = {}
    cells: list[tuple[int, int, float]] = []
    for r in rows:
        pair = (int(r["item_id"]), int(r["warehouse_id"]))
        row = index.setdefault(pair, len(index))
        offset = (_as_date(r["day"]) - first_day).days
        if 0 <= offset < days:
            cells.append((row, offset, float(r["qty"])))
    history = np.zeros((len(index), days), dtype=np.float64)
    if cells:
        at = np.array(cells)
        history[at[:, 0].astype(np.int64), at[:, 1].astype(np.int64)] = np.maximum(at[:, 2], 0.0)
    return DemandHistory(list(index), history, first_day)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def available_stock() -> dict[tuple[int, int], int]:
    """Available units (on hand − reserved − quarantined − damaged) per (item, warehouse), in bins only:
    stock in a staging area is picked for an order already."""
    rows = await db.fetch(
        "SELECT b.item_id, l.warehouse_id,"
        " CAST(SUM(b.on_hand - b.reserved - b.quarantined - b.damaged) AS BIGINT) AS available"
        " FROM balances b JOIN locations l ON l.id = b.location_id"
        " WHERE l.kind = 'bin' AND l.warehouse_id IS NOT NULL GROUP BY b.item_id, l.warehouse_id")
    return {(int(r["item_id"]), int(r["warehouse_id"])): int(r["available"]) for r in rows}


@dataclass(frozen=True, slots=True)
class SupplierTerms:
    supplier_id: int
    moq: int
    case_pack: int
    quoted_lead_days: int


async def supplier_terms() -> dict[int, SupplierTerms]:
    """Per item, the supplier to buy from — the preferred one, else the cheapest, else the first
    linked — with the item's MOQ, case pack and quoted lead time (the item's overrides, else the
    supplier's). Inactive suppliers are left out."""
    rows = await db.fetch(
        "SELECT si.item_id, si.supplier_id, si.preferred, si.unit_cost_minor,"
        " COALESCE(si.moq, s.moq) AS moq, COALESCE(si.case_pack, s.case_pack) AS case_pack,"
        " COALESCE(si.lead_time_days, s.lead_time_days) AS lead_days"
        " FROM supplier_items si JOIN suppliers s ON s.id = si.supplier_id WHERE s.active"
        " ORDER BY si.item_id, si.preferred DESC, si.unit_cost_minor, si.supplier_id")
    found: dict[int, SupplierTerms] = {}
    for r in rows:
        found.setdefault(int(r["item_id"]), SupplierTerms(int(r["supplier_id"]), int(r["moq"]),
                                                          int(r["case_pack"]), int(r["lead_days"])))
    return found


@dataclass(frozen=True, slots=True)
class LeadTime:
    mean_days: float
    sd_days: float
    observations: int  # 0: the supplier's quoted lead time, σL = 0


async def observed_lead_times(now: datetime) -> dict[int, LeadTime]:
    """Per supplier, the mean and sample standard deviation of the days from sending a purchase order
    to its first receipt (every item's lines; one observation has σL = 0)."""
    observed = await purchasing.lead_time_observations(since=now - timedelta(days=LEAD_TIME_HISTORY_DAYS))
    days: dict[int, list[float]] = {}
    for o in observed:
        days.setdefault(o.supplier_id, []).append(float(o.days))
    return {sid: LeadTime(fmean(d), stdev(d) if len(d) > 1 else 0.0, len(d)) for sid, d in days.items()}


@dataclass(frozen=True, slots=True)
class PolicyRow:
    kind: str
    service_level: float
    review_days: int
    min_qty: int
    max_qty: int


async def stored_policies() -> dict[tuple[int, int], PolicyRow]:
    rows = await db.fetch("SELECT item_id, warehouse_id, kind, service_level, review_days, min_qty, max_qty"
                          " FROM replenishment_policies")
    return {(int(r["item_id"]), int(r["warehouse_id"])): PolicyRow(str(r["kind"]), float(r["service_level"]),
                                                                   int(r["review_days"]), int(r["min_qty"]),
                                                                   int(r["max_qty"])) for r in rows}


async def stocked_items() -> set[int]:
    """Items replenishment looks at: active and not kits (a kit has no stock of its own)."""
    return {int(r["id"]) for r in await db.fetch("SELECT id FROM items WHERE active AND NOT is_kit")}
