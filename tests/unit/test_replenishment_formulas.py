"""The replenishment formulas against cases worked by hand: safety stock, reorder point, min/max,
periodic review, rounding to MOQ and case pack, stock on order counted, transfers from excess."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.domain.replenishment import (
    PolicyInputs,
    PolicyKind,
    compute,
    demand_stats,
    round_to_moq_and_pack,
    z_for,
)
from backend.domain.replenishment._formulas import KIND_CODE, Floats, Ints
from backend.domain.replenishment._plan import match_transfers


def _inputs(kind: PolicyKind, *, d: float = 10.0, sd: float = 3.0, lead: float = 4.0, lead_sd: float = 1.0,
            z: float = 1.645, review: float = 7.0, available: int = 40, on_order: int = 0, moq: int = 1,
            pack: int = 1, min_qty: float = 0.0, max_qty: float = 0.0) -> PolicyInputs:
    def f(v: float) -> Floats:
        return np.array([v], dtype=np.float64)

    def i(v: int) -> Ints:
        return np.array([v], dtype=np.int64)

    return PolicyInputs(i(KIND_CODE[kind]), f(z), f(review), f(min_qty), f(max_qty), f(d), f(sd), f(lead),
                        f(lead_sd), i(available), i(on_order), i(moq), i(pack))


def test_z_for_common_service_levels() -> None:
    assert z_for(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert z_for(0.99) == pytest.approx(2.3263, abs=1e-4)
    assert z_for(0.5) == pytest.approx(0.0, abs=1e-12)


def test_safety_stock_and_reorder_point_by_hand() -> None:
    # SS = 1.645 × √(4 × 3² + 10² × 1²) = 1.645 × √136 = 19.1838; ROP = 10 × 4 + SS = 59.1838
    out = compute(_inputs("rop"))
    assert out.safety_stock[0] == pytest.approx(1.645 * math.sqrt(136))
    assert out.reorder_point[0] == pytest.approx(40 + 1.645 * math.sqrt(136))
    # position 40 ≤ ROP: order up to ROP + d × 7 = 129.18 → need ⌈129.18 − 40⌉ = 90
    assert out.order_up_to[0] == pytest.approx(129.1838, abs=1e-4)
    assert (int(out.need[0]), int(out.qty[0])) == (90, 90)


def test_no_lead_time_variability_leaves_only_demand_variability() -> None:
    out = compute(_inputs("rop", lead_sd=0.0, sd=2.0, lead=9.0, z=2.0))
    assert out.safety_stock[0] == pytest.approx(2.0 * math.sqrt(9 * 4))  # 12


def test_above_the_reorder_point_nothing_is_ordered() -> None:
    out = compute(_inputs("rop", available=60))
    assert (int(out.need[0]), int(out.qty[0])) == (0, 0)


def test_stock_on_order_is_subtracted() -> None:
    # position = 20 available + 30 on order = 50 ≤ ROP 59.18: need ⌈129.18 − 50⌉ = 80
    out = compute(_inputs("rop", available=20, on_order=30))
    assert (int(out.position[0]), int(out.need[0])) == (50, 80)
    # 35 on order lift the position to 55 + ... above the ROP: nothing more to order
    assert int(compute(_inputs("rop", available=25, on_order=35)).qty[0]) == 0


def test_min_max_orders_up_to_max_when_at_or_below_min() -> None:
    out = compute(_inputs("minmax", min_qty=50, max_qty=120, available=50))
    assert (float(out.reorder_point[0]), float(out.order_up_to[0]), int(out.need[0])) == (50.0, 120.0, 70)
    assert out.safety_stock[0] == pytest.approx(50 - 10 * 4)  # what the min keeps beyond the lead time's demand
    assert int(compute(_inputs("minmax", min_qty=50, max_qty=120, available=51)).need[0]) == 0
    assert int(compute(_inputs("minmax", min_qty=50, max_qty=120, available=30, on_order=25)).need[0]) == 0


def test_periodic_review_orders_up_to_cover_review_and_lead_time() -> None:
    # R + L = 11: SS = 1.645 × √(11 × 9 + 100 × 1) = 1.645 × √199; S = 10 × 11 + SS = 133.21
    out = compute(_inputs("periodic", available=45, on_order=5))
    ss = 1.645 * math.sqrt(199)
    assert out.safety_stock[0] == pytest.approx(ss)
    assert out.order_up_to[0] == pytest.approx(110 + ss)
    assert int(out.need[0]) == math.ceil(110 + ss - 50)  # 84


def test_rounding_to_moq_then_case_pack() -> None:
    need = np.array([0, 1, 49, 50, 51, 85], dtype=np.int64)
    moq = np.full(6, 50, dtype=np.int64)
    pack = np.full(6, 12, dtype=np.int64)
    # MOQ 50 is not a whole number of cases of 12: 50 → 60; 85 → 96; nothing needed stays 0
    assert round_to_moq_and_pack(need, moq, pack).tolist() == [0, 60, 60, 60, 60, 96]
    assert round_to_moq_and_pack(need, np.ones(6, dtype=np.int64), np.ones(6, dtype=np.int64)).tolist() == \
        need.tolist()


def test_order_quantity_respects_moq_and_case_pack() -> None:
    out = compute(_inputs("rop", moq=24, pack=12))  # need 90 → 8 cases of 12
    assert (int(out.need[0]), int(out.qty[0])) == (90, 96)
    out = compute(_inputs("minmax", min_qty=50, max_qty=60, available=50, moq=100, pack=12))
    assert (int(out.need[0]), int(out.qty[0])) == (10, 108)  # the MOQ of 100, up to 9 cases


def test_demand_stats_from_first_sale_with_a_four_week_floor() -> None:
    history = np.zeros((3, 100))
    history[0, :] = np.tile([2.0, 4.0], 50)  # sold every day: mean 3, sample sd √(100/99)
    history[1, 40:] = 6.0  # first sold on day 40: 60 days of 6
    history[2, 95] = 28.0  # one sale 5 days ago: spread over the 28-day floor
    mean, sd = demand_stats(history)
    assert mean.tolist() == pytest.approx([3.0, 6.0, 1.0])
    assert sd[0] == pytest.approx(math.sqrt(100 / 99))
    assert sd[1] == pytest.approx(0.0)
    assert sd[2] == pytest.approx(float(np.std([28.0] + [0.0] * 27, ddof=1)))


def test_transfers_cover_a_need_from_another_warehouses_excess_first() -> None:
    items = np.array([1, 1, 1, 2], dtype=np.int64)
    need = np.array([30, 0, 10, 5], dtype=np.int64)
    excess = np.array([0, 35, 0, 0], dtype=np.int64)
    transfers, left = match_transfers(items, need, excess)
    assert [(t.item_id, t.from_row, t.to_row, t.qty) for t in transfers] == [(1, 1, 0, 30), (1, 1, 2, 5)]
    assert left.tolist() == [0, 0, 5, 5]  # item 2 has no excess anywhere
