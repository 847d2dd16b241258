"""One replenishment run: read every input set-based, forecast (bounded in time, off the event loop),
compute every pair's policy at once, and replace the open suggestions in one transaction."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import msgspec
import numpy as np

from backend import db
from backend.domain import purchasing
from backend.domain.replenishment import _forecast, _inputs
from backend.domain.replenishment._formulas import KIND_CODE, PolicyKind, demand_stats
from backend.domain.replenishment._plan import PairArrays, Plan, plan
from backend.domain.replenishment._policies import DEFAULT_LEAD_DAYS, DEFAULT_POLICY

HISTORY_DAYS = 365
FORECAST_BUDGET_S = 150.0  # below the job's 300 s limit, with room for reading and writing
INSERT_BATCH_ROWS = 2_000

ProgressFn = Callable[[int, int, str], Awaitable[None]]


class RunSummary(msgspec.Struct, frozen=True):
    pairs: int
    purchases: int
    transfers: int
    units_to_buy: int
    forecast: int  # pairs with a model fitted and back-tested
    seasonal_naive_won: int
    forecast_skipped: int  # forecastable, left on the mean by the time budget


async def _no_progress(done: int, total: int, note: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Context:
    pairs: list[tuple[int, int]]
    arrays: PairArrays
    supplier: list[int | None]
    policy_default: list[bool]
    lead_observed: list[int]


async def _read(today: date) -> _Context:
    # The year up to and including today so far: a shipment made an hour ago is demand already.
    demand = await _inputs.demand_history(days=HISTORY_DAYS, until=today + timedelta(days=1))
    available = await _inputs.available_stock()
    on_order = await purchasing.on_order(None)
    policies = await _inputs.stored_policies()
    terms = await _inputs.supplier_terms()
    leads = await _inputs.observed_lead_times(datetime.now(UTC))
    items = await _inputs.stocked_items()
    rows = {pair: n for n, pair in enumerate(demand.pairs)}
    extra = [p for p in {*policies, *(k for k, v in available.items() if v > 0), *on_order} if p not in rows]
    pairs = [p for p in [*demand.pairs, *sorted(extra)] if p[0] in items]
    history = np.zeros((len(pairs), HISTORY_DAYS))
    for n, pair in enumerate(pairs):
        if pair in rows:
            history[n] = demand.history[rows[pair]]
    chosen = [policies.get(p, DEFAULT_POLICY) for p in pairs]
    term = [terms.get(item) for item, _ in pairs]
    lead = [leads.get(t.supplier_id) if t else None for t in term]
    arrays = PairArrays(
        item_id=np.array([p[0] for p in pairs], dtype=np.int64),
        warehouse_id=np.array([p[1] for p in pairs], dtype=np.int64),
        history=history,
        kind=np.array([KIND_CODE[_kind(c.kind)] for c in chosen], dtype=np.int64),
        service_level=np.array([c.service_level for c in chosen], dtype=np.float64),
        review_days=np.array([c.review_days for c in chosen], dtype=np.float64),
        min_qty=np.array([c.min_qty for c in chosen], dtype=np.float64),
        max_qty=np.array([c.max_qty for c in chosen], dtype=np.float64),
        lead_days=np.array([lt.mean_days if lt else (t.quoted_lead_days if t else DEFAULT_LEAD_DAYS)
                            for t, lt in zip(term, lead, strict=True)], dtype=np.float64),
        lead_sd=np.array([lt.sd_days if lt else 0.0 for lt in lead], dtype=np.float64),
        available=np.array([available.get(p, 0) for p in pairs], dtype=np.int64),
        on_order=np.array([on_order.get(p, 0) for p in pairs], dtype=np.int64),
        moq=np.array([t.moq if t else 1 for t in term], dtype=np.int64),
        case_pack=np.array([t.case_pack if t else 1 for t in term], dtype=np.int64),
    )
    return _Context(pairs, arrays, [t.supplier_id if t else None for t in term],
                    [p not in policies for p in pairs], [lt.observations if lt else 0 for lt in lead])


def _kind(kind: str) -> PolicyKind:
    for known in KIND_CODE:
        if known == kind:
            return known
    raise AssertionError(f"unknown policy kind {kind!r}")


async def _forecasts(arrays: PairArrays, budget_s: float,
                     progress: ProgressFn) -> tuple[list[_forecast.ForecastChoice], int]:
    """Forecast batch by batch in a thread (the web process keeps serving), most demand first."""
    mean, _ = demand_stats(arrays.history)
    choices = [_forecast.fallback(float(m)) for m in mean]
    order = [int(n) for n in _forecast.forecast_order(arrays.history)]
    horizon = arrays.lead_days + arrays.review_days
    started, done = time.monotonic(), 0
    for start in range(0, len(order), _forecast.FORECAST_BATCH_PAIRS):
        if time.monotonic() - started > budget_s:
            break
        batch = order[start:start + _forecast.FORECAST_BATCH_PAIRS]
        found = await asyncio.to_thread(_forecast.forecast_batch, arrays.history, batch, horizon)
        for n, choice in found.items():
            choices[n] = choice
        done += len(batch)
        await progress(done, len(order), "pairs forecast and back-tested")
    return choices, len(order) - done


async def run_replenishment(*, progress: ProgressFn = _no_progress, run_id: int | None = None,
                            forecast_budget_s: float = FORECAST_BUDGET_S, today: date | None = None) -> RunSummary:
    """Compute suggestions for every item-warehouse pair and replace the open ones."""
    await progress(0, 0, "reading demand, stock and purchase orders")
    ctx = await _read(today or datetime.now(UTC).date())
    choices, skipped = await _forecasts(ctx.arrays, forecast_budget_s, progress)
    demand = np.array([c.daily for c in choices], dtype=np.float64)
    result = plan(ctx.arrays, demand=demand)
    await progress(len(ctx.pairs), len(ctx.pairs), "writing suggestions")
    rows = _suggestion_rows(ctx, result, choices, run_id)
    await db.run_in_transaction(lambda: _replace_open(rows))
    modelled = [c for c in choices if c.candidate is not None]
    return RunSummary(
        pairs=len(ctx.pairs),
        purchases=sum(1 for r in rows if r[2] == "purchase"),
        transfers=len(result.transfers),
        units_to_buy=int(result.purchase_qty.sum()),
        forecast=len(modelled),
        seasonal_naive_won=sum(1 for c in modelled if c.method == "seasonal_naive"),
        forecast_skipped=skipped,
    )


_COLUMNS: list[tuple[str, str]] = [
    ("run_id", "BIGINT"), ("computed_at", "TIMESTAMPTZ"), ("kind", "TEXT"), ("item_id", "BIGINT"),
    ("warehouse_id", "BIGINT"), ("from_warehouse_id", "BIGINT"), ("supplier_id", "BIGINT"),
    ("qty_suggested", "BIGINT"), ("qty", "BIGINT"), ("need", "BIGINT"), ("policy_kind", "TEXT"),
    ("policy_default", "BOOLEAN"), ("service_level", "DOUBLE PRECISION"), ("demand_daily", "DOUBLE PRECISION"),
    ("demand_sd", "DOUBLE PRECISION"), ("lead_days", "DOUBLE PRECISION"), ("lead_sd", "DOUBLE PRECISION"),
    ("lead_observed", "INTEGER"), ("review_days", "INTEGER"), ("z", "DOUBLE PRECISION"),
    ("safety_stock", "DOUBLE PRECISION"), ("reorder_point", "DOUBLE PRECISION"),
    ("order_up_to", "DOUBLE PRECISION"), ("available", "BIGINT"), ("on_order", "BIGINT"), ("moq", "BIGINT"),
    ("case_pack", "BIGINT"), ("forecast_method", "TEXT"), ("forecast_mae", "DOUBLE PRECISION"),
    ("forecast_bias", "DOUBLE PRECISION"), ("candidate_mae", "DOUBLE PRECISION"), ("naive_mae", "DOUBLE PRECISION"),
]
Row = tuple[object, ...]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def _suggestion_rows(ctx: _Context, result: Plan, choices: list[_forecast.ForecastChoice],
                     run_id: int | None) -> list[Row]:
    a, o = ctx.arrays, result.outputs
    now = datetime.now(UTC)
    kinds = {code: kind for kind, code in KIND_CODE.items()}

    def row(n: int, kind: str, qty: int, need: int, source: int | None) -> Row:
        c = choices[n]
        return (run_id, now, kind, ctx.pairs[n][0], ctx.pairs[n][1], source,
                ctx.supplier[n] if kind == "purchase" else None, qty, qty, need, kinds[int(a.kind[n])],
                ctx.policy_default[n], float(a.service_level[n]), _finite(result.demand[n]),
                _finite(result.demand_sd[n]), _finite(a.lead_days[n]), _finite(a.lead_sd[n]), ctx.lead_observed[n],
                int(a.review_days[n]), _finite(result.z[n]), _finite(o.safety_stock[n]), _finite(o.reorder_point[n]),
                _finite(o.order_up_to[n]), int(a.available[n]), int(a.on_order[n]), int(a.moq[n]),
                int(a.case_pack[n]), c.method, _finite(c.mae), _finite(c.bias), _finite(c.candidate_mae),
                _finite(c.naive_mae))

    rows = [row(n, "purchase", int(result.purchase_qty[n]), int(result.purchase_need[n]), None)
            for n in np.flatnonzero(result.purchase_qty > 0).tolist()]
    rows += [row(t.to_row, "transfer", t.qty, t.qty, ctx.pairs[t.from_row][1]) for t in result.transfers]
    return rows


async def _replace_open(rows: list[Row]) -> None:
    await db.fetch("DELETE FROM replenishment_suggestions WHERE status = 'open'")
    names = ", ".join(name for name, _ in _COLUMNS)
    for start in range(0, len(rows), INSERT_BATCH_ROWS):
        source, args = db.values_table(_COLUMNS, rows[start:start + INSERT_BATCH_ROWS])
        await db.fetch(f"INSERT INTO replenishment_suggestions ({names}, status) SELECT {names}, 'open' FROM {source}",
                       *args)
