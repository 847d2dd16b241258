"""Forecast selection and the 8-week back-test on synthetic series: a trending weekly-seasonal one,
an intermittent one, one with too little history. The back-test's seasonal-naive error is recomputed
here from the series itself, so the numbers the planner sees are checked, not just their presence."""

from __future__ import annotations

import numpy as np
import pytest

from backend.domain.replenishment import BACKTEST_DAYS, forecast_pairs
from backend.domain.replenishment._formulas import Floats

DAYS = 365


def _seasonal(seed: int = 7) -> Floats:
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS)
    weekday = np.array([30, 32, 28, 35, 60, 80, 10], dtype=np.float64)  # busy weekends, quiet Sunday
    return rng.poisson(weekday[t % 7] + 0.05 * t).astype(np.float64)


def _intermittent(seed: int = 11) -> Floats:
    rng = np.random.default_rng(seed)
    return ((rng.random(DAYS) < 0.12) * rng.integers(1, 6, DAYS)).astype(np.float64)


def _naive_error(series: Floats) -> tuple[float, float]:
    train, actual = series[:-BACKTEST_DAYS], series[-BACKTEST_DAYS:]
    forecast = np.tile(train[-7:], BACKTEST_DAYS // 7)
    return float(np.abs(forecast - actual).mean()), float((forecast - actual).mean())


def test_a_seasonal_series_is_fitted_with_ets_and_back_tested_against_seasonal_naive() -> None:
    series = _seasonal()
    [choice], skipped = forecast_pairs(series[None, :], np.array([14.0]), np.array([series.mean()]))
    assert skipped == 0
    assert choice.candidate == "ets"
    naive_mae, naive_bias = _naive_error(series)
    assert choice.naive_mae == pytest.approx(naive_mae)
    assert choice.candidate_mae is not None
    if choice.candidate_mae < naive_mae:
        assert choice.method == "ets"
        assert choice.mae == pytest.approx(choice.candidate_mae)
    else:
        assert choice.method == "seasonal_naive"
        assert choice.mae == pytest.approx(naive_mae)
        assert choice.bias == pytest.approx(naive_bias)
    # The trend is up: the next two weeks' mean is above the year's mean, and near the last weeks'.
    assert choice.daily > series.mean()
    assert choice.daily == pytest.approx(series[-28:].mean(), rel=0.2)


def test_seasonal_naive_wins_where_it_forecasts_better() -> None:
    # The same week repeated exactly: seasonal naive's back-test error is 0, no model can beat it.
    week = np.array([5, 9, 7, 8, 20, 25, 1], dtype=np.float64)
    series = np.tile(week, DAYS // 7 + 1)[:DAYS]
    [choice], _ = forecast_pairs(series[None, :], np.array([7.0]), np.array([series.mean()]))
    assert (choice.method, choice.mae, choice.bias) == ("seasonal_naive", 0.0, 0.0)
    assert choice.daily == pytest.approx(week.mean())


def test_intermittent_demand_is_forecast_with_tsb_and_back_tested() -> None:
    series = _intermittent()
    assert (series == 0).mean() > 0.5
    [choice], _ = forecast_pairs(series[None, :], np.array([10.0]), np.array([series.mean()]))
    assert choice.candidate == "tsb"
    naive_mae, _ = _naive_error(series)
    assert choice.naive_mae == pytest.approx(naive_mae)
    assert choice.candidate_mae is not None
    winner = "tsb" if choice.candidate_mae < naive_mae else "seasonal_naive"
    assert choice.method == winner
    assert choice.mae == pytest.approx(min(choice.candidate_mae, naive_mae))
    assert 0.0 <= choice.daily < 2.0


def test_too_short_a_history_keeps_the_mean_without_a_back_test() -> None:
    history = np.zeros((1, DAYS))
    history[0, -30:] = 4.0
    [choice], skipped = forecast_pairs(history, np.array([10.0]), np.array([4.0]))
    assert (choice.method, choice.daily, choice.mae, choice.bias, skipped) == ("mean", 4.0, None, None, 0)
