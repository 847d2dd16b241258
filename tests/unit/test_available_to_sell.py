"""Available to sell = available − buffer (units or % rounded up), never above the share, never below 0."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.channel_sync import StockRule, available_to_sell

units = st.integers(min_value=0, max_value=10**9)
pct = st.integers(min_value=0, max_value=100)
rules = st.one_of(
    st.builds(StockRule, buffer_units=st.integers(0, 10**6), share_pct=pct),
    st.builds(StockRule, buffer_pct=pct, share_pct=pct),
)


def test_examples():
    assert available_to_sell(10, StockRule()) == 10
    assert available_to_sell(10, StockRule(buffer_units=2)) == 8
    assert available_to_sell(1, StockRule(buffer_units=2)) == 0
    assert available_to_sell(10, StockRule(buffer_pct=15)) == 8  # 1.5 kept back rounds up to 2
    assert available_to_sell(40, StockRule(buffer_pct=10, share_pct=50)) == 20
    assert available_to_sell(7, StockRule(share_pct=50)) == 3
    assert available_to_sell(0, StockRule()) == 0
    assert available_to_sell(-3, StockRule()) == 0


def test_a_buffer_is_in_units_or_percent_not_both():
    with pytest.raises(AssertionError):
        StockRule(buffer_units=1, buffer_pct=5)


@given(units, rules)
def test_never_negative_never_more_than_available_nor_the_share(available, rule):
    ats = available_to_sell(available, rule)
    assert 0 <= ats <= available
    assert ats <= available * rule.share_pct // 100
    assert ats <= max(0, available - rule.buffer_units)


@given(units, units, rules)
def test_more_stock_never_offers_less(a, b, rule):
    low, high = sorted((a, b))
    assert available_to_sell(low, rule) <= available_to_sell(high, rule)


@given(units)
def test_no_rule_offers_everything(available):
    assert available_to_sell(available, StockRule()) == available
