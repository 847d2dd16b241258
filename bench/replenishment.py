"""Replenishment's computation over 100,000 item-warehouse pairs with a year of daily demand, against a
plain NumPy computation of the same formulas, in alternating rounds within one run.

- Demand: PAIRS × 365 days, generated here (70 % smooth with a weekly season and a trend, 30 %
  intermittent), 50,000 items in two warehouses each; policies mixed (reorder point, min/max, periodic
  review) at four service levels; lead times, their deviation, stock, stock on order, MOQ and case pack
  drawn per pair.
- Subject: `replenishment.plan(...)` — what the job runs between reading its inputs and writing the
  suggestions: daily demand mean and deviation per pair (from its first sale), z per service level,
  safety stock, reorder point, order-up-to level, position (available + on order), need, rounding to MOQ
  and case pack, each warehouse's excess and the transfers that cover needs from it.
- Baseline: the same formulas written as plain NumPy in this file (no transfers: it does less).
- Not in the ratio, measured once and printed: statsforecast's back-tested forecast per pair on a
  sample (AutoETS or TSB against seasonal naive), and what 100,000 pairs would take at that rate. The
  job bounds forecasting by time (FORECAST_BUDGET_S) and forecasts the pairs with the most demand first.
- No database: reading the history is one grouped statement (`_inputs.demand_history`), not timed here.

Each round runs both sides once (the side that goes first swapped every round) and prints wall time,
CPU ms and pairs per second; rounds go on until --seconds have passed (at least 3). The last line is
`ratio: X.XX` = median over rounds of (NumPy time ÷ Stockline time); the goal is ≥ 0.5, and Stockline
under 30 s.

Usage: .venv/bin/python bench/replenishment.py [--seconds 60] [--pairs 100000] [--forecast-sample 80]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend.domain import replenishment  # noqa: E402 - after the path set-up above
from backend.domain.replenishment._formulas import KIND_CODE  # noqa: E402

DAYS = 365
PAIRS = 100_000
ROUNDS_MIN = 3
SERVICE_LEVELS = np.array([0.90, 0.95, 0.98, 0.99])


def make_pairs(pairs: int, seed: int = 20261130) -> replenishment.PairArrays:
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS)
    smooth = rng.random(pairs) < 0.7
    level = rng.gamma(2.0, 4.0, pairs)
    season = 1.0 + 0.4 * np.sin(2 * np.pi * (t[None, :] + rng.integers(0, 7, pairs)[:, None]) / 7)
    trend = 1.0 + rng.normal(0.0, 0.3, pairs)[:, None] * t[None, :] / DAYS
    rate = np.where(smooth[:, None], level[:, None] * season * np.clip(trend, 0.2, None),
                    (rng.random((pairs, DAYS)) < 0.15) * level[:, None])
    history = rng.poisson(rate).astype(np.float64)
    kind = rng.integers(0, 3, pairs)
    d = history.mean(axis=1)
    min_qty = np.floor(d * rng.uniform(5, 15, pairs))
    return replenishment.PairArrays(
        item_id=(np.arange(pairs) // 2 + 1).astype(np.int64),  # each item in two warehouses
        warehouse_id=(np.arange(pairs) % 2 + 1).astype(np.int64),
        history=history,
        kind=kind.astype(np.int64),
        service_level=SERVICE_LEVELS[rng.integers(0, len(SERVICE_LEVELS), pairs)],
        review_days=rng.choice([7.0, 14.0], pairs),
        min_qty=min_qty,
        max_qty=min_qty + np.floor(d * rng.uniform(5, 20, pairs)),
        lead_days=rng.uniform(2, 30, pairs),
        lead_sd=rng.uniform(0, 4, pairs),
        available=rng.integers(0, 400, pairs).astype(np.int64),
        on_order=np.where(rng.random(pairs) < 0.3, rng.integers(1, 200, pairs), 0).astype(np.int64),
        moq=rng.choice([1, 12, 24, 50, 100], pairs).astype(np.int64),
        case_pack=rng.choice([1, 6, 12, 24], pairs).astype(np.int64),
    )


def numpy_baseline(p: replenishment.PairArrays) -> np.ndarray:
    """The formulas as plain NumPy: demand mean and deviation from the first sale (28-day floor), z,
    SS = z·√(cover·σd² + d²·σL²), ROP, order-up-to per policy, need, MOQ, case pack."""
    h = p.history
    days = h.shape[1]
    sold = h > 0
    first = np.where(sold.any(axis=1), sold.argmax(axis=1), days)
    span = np.clip(days - first, 28, days).astype(np.float64)
    d = h.sum(axis=1) / span
    var = np.maximum((h * h).sum(axis=1) - span * d * d, 0.0) / np.maximum(span - 1.0, 1.0)
    sd = np.sqrt(var)
    z_of = {float(s): NormalDist().inv_cdf(float(s)) for s in np.unique(p.service_level)}
    z = np.vectorize(z_of.__getitem__)(p.service_level)
    periodic, minmax = p.kind == KIND_CODE["periodic"], p.kind == KIND_CODE["minmax"]
    cover = p.lead_days + np.where(periodic, p.review_days, 0.0)
    ss = z * np.sqrt(cover * sd ** 2 + d ** 2 * p.lead_sd ** 2)
    rop = np.where(minmax, p.min_qty, np.where(periodic, d * cover + ss, d * p.lead_days + ss))
    up_to = np.where(minmax, p.max_qty, np.where(periodic, d * cover + ss, d * p.lead_days + ss + d * p.review_days))
    position = p.available + p.on_order
    order = np.where(periodic, position < rop, position <= rop)
    need = np.where(order, np.maximum(np.ceil(up_to - position), 0), 0).astype(np.int64)
    qty = -(-np.maximum(need, p.moq) // p.case_pack) * p.case_pack
    result: np.ndarray = np.where(need > 0, qty, 0)
    return result


def stockline(p: replenishment.PairArrays) -> np.ndarray:
    result: np.ndarray = replenishment.plan(p).purchase_qty
    return result


def timed(work: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = work()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def forecast_sample(p: replenishment.PairArrays, sample: int) -> None:
    """statsforecast on `sample` pairs (half smooth, half intermittent as drawn), once, not in the ratio."""
    if sample <= 0:
        return
    cpu, wall = time.process_time(), time.perf_counter()
    import statsforecast  # noqa: F401 - its import is part of a job's first forecast

    imported_s = time.perf_counter() - wall
    rows = np.linspace(0, len(p.item_id) - 1, sample).astype(np.int64)
    mean, _ = replenishment.demand_stats(p.history[rows])
    start_cpu, start = time.process_time(), time.perf_counter()
    choices, _ = replenishment.forecast_pairs(p.history[rows], p.lead_days[rows] + p.review_days[rows], mean)
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    per_pair_ms = wall_s * 1000 / sample
    methods = {m: sum(1 for c in choices if c.method == m) for m in ("ets", "tsb", "seasonal_naive", "mean")}
    print(f"forecast (not in the ratio): import {imported_s:.1f} s; {sample} pairs back-tested and forecast in"
          f" {wall_s:.1f} s ({per_pair_ms:.0f} ms and {cpu_s * 1000 / sample:.0f} ms CPU a pair; {methods});"
          f" 100,000 pairs at that rate: {per_pair_ms * 100_000 / 1000 / 60:.0f} min here,"
          f" {cpu_s / sample * 100_000 / 60:.0f} min of CPU"
          f" (total CPU incl. import {time.process_time() - cpu:.1f} s)", flush=True)


def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); {args.pairs:,} pairs ×"
          f" {DAYS} days; --seconds {args.seconds}", flush=True)
    started = time.perf_counter()
    pairs = make_pairs(args.pairs)
    print(f"generated the demand in {time.perf_counter() - started:.1f} s"
          f" ({pairs.history.nbytes / 2**20:.0f} MiB); statements: 0 (in memory)", flush=True)
    base_s: list[float] = []
    subject_s: list[float] = []
    base_cpu_s: list[float] = []
    subject_cpu_s: list[float] = []
    begun = time.perf_counter()
    r = 0
    while r < ROUNDS_MIN or time.perf_counter() - begun < args.seconds:
        sides = [("numpy", lambda: numpy_baseline(pairs)), ("stockline", lambda: stockline(pairs))]
        results: dict[str, np.ndarray] = {}
        line = []
        for name, work in sides if r % 2 == 0 else sides[::-1]:
            wall, cpu, results[name] = timed(work)
            (base_s if name == "numpy" else subject_s).append(wall)
            (base_cpu_s if name == "numpy" else subject_cpu_s).append(cpu)
            line.append(f"{name} {wall * 1000:.0f} ms ({cpu * 1000:.0f} ms CPU, {cpu * 1e6 / args.pairs:.2f} µs CPU"
                        f" a pair, {args.pairs / wall:,.0f} pairs/s)")
        # Stockline covers some needs by transfer first, so it may buy less, never more.
        assert bool((results["stockline"] <= results["numpy"]).all())
        r += 1
        print(f"round {r}: " + "; ".join(line), flush=True)
    plan = replenishment.plan(pairs)
    ordered = int((plan.purchase_qty > 0).sum())
    print(f"median numpy {statistics.median(base_s) * 1000:.0f} ms, stockline {statistics.median(subject_s) * 1000:.0f}"
          f" ms; {ordered:,} purchases, {len(plan.transfers):,} transfers; Stockline under 30 s:"
          f" {max(subject_s) < 30}", flush=True)
    forecast_sample(pairs, args.forecast_sample)
    ratios = [b / s for b, s in zip(base_s, subject_s, strict=True)]
    cpu_ratios = [b / s for b, s in zip(base_cpu_s, subject_cpu_s, strict=True)]
    print(f"numpy time / stockline time per round: {', '.join(f'{x:.2f}' for x in ratios)};"
          f" load average at end {os.getloadavg()[0]:.2f}")
    print(f"cpu ratio (numpy CPU / stockline CPU, median of rounds; steadier on a busy machine):"
          f" {statistics.median(cpu_ratios):.2f} ({statistics.median(base_cpu_s) * 1000:.0f} ms /"
          f" {statistics.median(subject_cpu_s) * 1000:.0f} ms)")
    print(f"ratio: {statistics.median(ratios):.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=30, help="keep running rounds for this long (≥ 3 rounds)")
    parser.add_argument("--pairs", type=int, default=PAIRS)
    parser.add_argument("--forecast-sample", type=int, default=80, help="pairs forecast once (0: skip)")
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_args())
