from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.errors import InvalidQuantity
from backend.domain.quantities import QTY_MAX, require_qty, to_base_units


@given(st.integers(min_value=1, max_value=QTY_MAX))
def test_positive_integers_are_accepted(n):
    assert require_qty(n) == n


@pytest.mark.parametrize("bad", [0, -1, QTY_MAX + 1, 1.5, 2.0, "3", None, True])
def test_everything_else_is_refused(bad):
    with pytest.raises(InvalidQuantity):
        require_qty(bad)


def test_case_conversion_is_exact_and_bounded():
    assert to_base_units(3, 24, "case") == 72
    with pytest.raises(InvalidQuantity, match="case"):
        to_base_units(QTY_MAX // 24 + 1, 24, "case")
