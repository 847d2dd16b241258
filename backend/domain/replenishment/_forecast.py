"""Demand forecasts per pair with statsforecast, each back-tested before it is trusted.

- A series starts at the pair's first day of demand. Fewer than FORECAST_HISTORY_DAYS_MIN days
  since then: no model is fitted (method `mean`: the history's daily mean).
- Intermittent demand — at least INTERMITTENT_ZERO_SHARE of the fitted days without a sale — gets
  TSB (Teunter–Syntetos–Babai: Croston's demand size and a demand *probability* updated every day,
  so an item that stopped selling forecasts less and less, where Croston keeps its last rate);
  other series get AutoETS with a weekly season (error and trend chosen by AIC, additive season).
- Back-test: the candidate and a seasonal-naive forecast (each weekday as it was last week) are
  fitted on the series without its last BACKTEST_DAYS (8 weeks) and forecast those 8 weeks; MAE
  and bias (mean forecast − actual) are kept. Seasonal naive is used where its MAE is not worse —
  the simpler method wins ties.
- The chosen method is then fitted on the whole series (its last FIT_DAYS) and forecasts the
  pair's horizon (lead time + review period); the policy's d is the forecast's mean daily demand
  over that horizon.

AutoETS costs about 0.1 s a fit on this machine (two fits a pair), so a run forecasts the pairs
with the most demand first and stops starting batches after its time budget; the rest keep the
history's mean (method `mean`), and the run's summary says how many.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from backend.domain.replenishment._formulas import Floats, Ints

Method = Literal["ets", "tsb", "seasonal_naive", "mean"]
SEASON_DAYS = 7
BACKTEST_DAYS = 56  # the last 8 weeks
FIT_DAYS = 182  # 26 weeks: a weekly season and a trend, at a third of a year's fitting cost
FORECAST_HISTORY_DAYS_MIN = BACKTEST_DAYS + 4 * SEASON_DAYS  # 8 weeks to test on, 4 to fit
INTERMITTENT_ZERO_SHARE = 0.5
FORECAST_BATCH_PAIRS = 40
TSB_ALPHA_DEMAND = 0.1
TSB_ALPHA_PROBABILITY = 0.1

@dataclass(frozen=True, slots=True)
class ForecastChoice:
    method: Method
    daily: float  # mean daily demand over the horizon
    mae: float | None  # of the chosen method in the back-test
    bias: float | None
    candidate: Method | None = None  # the model that competed with seasonal naive
    candidate_mae: float | None = None
    naive_mae: float | None = None


def _fallback(mean: float) -> ForecastChoice:
    return ForecastChoice("mean", mean, None, None)


def first_demand_day(history: Floats) -> Ints:
    sold = history > 0
    first: Ints = np.where(sold.any(axis=1), sold.argmax(axis=1), history.shape[1]).astype(np.int64)
    return first


def _frame(series: list[Floats]) -> Any:
    import pandas as pd  # type: ignore[import-untyped]  # statsforecast's dependency; no stubs installed

    lengths = [len(s) for s in series]
    stop = pd.Timestamp("2000-01-01") + pd.Timedelta(days=max(lengths) - 1)
    ds = np.concatenate([pd.date_range(end=stop, periods=n, freq="D").to_numpy() for n in lengths])
    return pd.DataFrame({"unique_id": np.repeat(np.arange(len(series)), lengths), "ds": ds,
                         "y": np.concatenate(series).astype(np.float64)})


def _run(models: list[Any], series: list[Floats], horizon: int) -> dict[str, Floats]:
    """Each model's forecasts, one row per series (statsforecast, one process)."""
    from statsforecast import StatsForecast

    out = StatsForecast(models=models, freq="D", n_jobs=1).forecast(df=_frame(series), h=horizon)
    out = out.sort_values(["unique_id", "ds"])
    return {str(m): out[str(m)].to_numpy(dtype=np.float64).reshape(len(series), horizon) for m in models}


def _candidate(intermittent: bool) -> tuple[Method, Any]:
    from statsforecast.models import TSB, AutoETS

    if intermittent:
        return "tsb", TSB(alpha_d=TSB_ALPHA_DEMAND, alpha_p=TSB_ALPHA_PROBABILITY)
    return "ets", AutoETS(season_length=SEASON_DAYS, model="ZZA")


def _naive() -> Any:
    from statsforecast.models import SeasonalNaive

    return SeasonalNaive(season_length=SEASON_DAYS)


def _forecast_group(series: list[Floats], horizons: list[int], intermittent: bool) -> list[ForecastChoice]:
    """Back-test the group's candidate against seasonal naive, then forecast with each pair's winner."""
    method, model = _candidate(intermittent)
    naive = _naive()
    train = [s[-(FIT_DAYS + BACKTEST_DAYS):-BACKTEST_DAYS] for s in series]
    actual = np.stack([s[-BACKTEST_DAYS:] for s in series])
    tested = _run([model, naive], train, BACKTEST_DAYS)
    errors = {name: fc - actual for name, fc in tested.items()}
    model_mae = np.abs(errors[str(model)]).mean(axis=1)
    naive_mae = np.abs(errors[str(naive)]).mean(axis=1)
    model_wins = model_mae < naive_mae
    horizon = max(horizons)
    full = [s[-FIT_DAYS:] for s in series]
    final: dict[int, Floats] = {}  # row → the winner's forecast
    for wins, chosen in ((True, model), (False, naive)):
        rows = [n for n in range(len(series)) if bool(model_wins[n]) == wins]
        if rows:
            fc = _run([chosen], [full[n] for n in rows], horizon)[str(chosen)]
            final.update({n: fc[k] for k, n in enumerate(rows)})
    out = []
    for n in range(len(series)):
        wins = bool(model_wins[n])
        err = errors[str(model) if wins else str(naive)][n]
        daily = float(np.clip(final[n][: horizons[n]], 0.0, None).mean())
        out.append(ForecastChoice(method if wins else "seasonal_naive", daily, float(np.abs(err).mean()),
                                  float(err.mean()), method, float(model_mae[n]), float(naive_mae[n])))
    return out


def forecast_order(history: Floats) -> Ints:
    """Rows with enough history to fit and back-test a model, the most demand first."""
    first = first_demand_day(history)
    eligible = np.flatnonzero((history.shape[1] - first) >= FORECAST_HISTORY_DAYS_MIN)
    return eligible[np.argsort(-history[eligible].sum(axis=1), kind="stable")].astype(np.int64)


def forecast_batch(history: Floats, rows: list[int], horizon_days: Floats) -> dict[int, ForecastChoice]:
    """The choice for each of `rows` (forecastable rows of `history`): smooth and intermittent series
    are fitted as two groups."""
    first = first_demand_day(history)
    sparse = {n: _zero_share(history[n, first[n]:]) >= INTERMITTENT_ZERO_SHARE for n in rows}
    found: dict[int, ForecastChoice] = {}
    for intermittent in (False, True):
        group = [n for n in rows if sparse[n] == intermittent]
        if group:
            choices = _forecast_group([history[n, first[n]:] for n in group],
                                      [max(1, math.ceil(float(horizon_days[n]))) for n in group], intermittent)
            found.update(zip(group, choices, strict=True))
    return found


def forecast_pairs(history: Floats, horizon_days: Floats, fallback_mean: Floats, *,
                   budget_s: float = float("inf")) -> tuple[list[ForecastChoice], int]:
    """One choice per row of `history` (in this thread); returns them and how many forecastable rows
    the time budget left on the history's mean. Rows with the most demand are forecast first."""
    choices = [_fallback(float(m)) for m in fallback_mean]
    order = [int(n) for n in forecast_order(history)]
    started = time.monotonic()
    done = 0
    for start in range(0, len(order), FORECAST_BATCH_PAIRS):
        if time.monotonic() - started > budget_s:
            break
        batch = order[start:start + FORECAST_BATCH_PAIRS]
        for n, choice in forecast_batch(history, batch, horizon_days).items():
            choices[n] = choice
        done += len(batch)
    return choices, len(order) - done


def fallback(mean: float) -> ForecastChoice:
    """No model: the history's daily mean."""
    return _fallback(mean)


def _zero_share(series: Floats) -> float:
    recent = series[-FIT_DAYS:]
    return float((recent == 0).mean()) if len(recent) else 1.0
