"""Pure allocation and walk order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.domain.fulfillment.allocation import BinStock, PickCandidate, allocate, pick_sequence, take_in_order


def test_allocation_follows_walk_sequence_not_bin_size():
    stock = [BinStock("B-3", 3, "", 100), BinStock("B-1", 1, "", 2), BinStock("B-2", 2, "", 5)]
    allocation = allocate(4, stock)
    assert [(b.location, q) for b, q in allocation.takes] == [("B-1", 2), ("B-2", 2)]
    assert allocation.backordered == 0


def test_equal_walk_sequence_falls_back_to_bin_code():
    allocation = allocate(1, [BinStock("B-9", 1, "", 1), BinStock("B-10", 1, "", 1)])
    assert allocation.takes[0][0].location == "B-10"


def test_what_is_missing_is_backordered():
    allocation = allocate(10, [BinStock("B-1", 1, "", 3), BinStock("B-2", 2, "", 0)])
    assert (allocation.allocated, allocation.backordered) == (3, 7)


@given(
    need=st.integers(min_value=1, max_value=1000),
    frees=st.lists(st.integers(min_value=0, max_value=100), max_size=12),
)
def test_allocation_never_over_takes_and_accounts_for_every_unit(need, frees):
    stock = [BinStock(f"B-{n}", n % 3, "", free) for n, free in enumerate(frees)]
    allocation = allocate(need, stock)
    assert allocation.allocated + allocation.backordered == need
    assert allocation.allocated == min(need, sum(frees))
    assert all(0 < q <= b.available for b, q in allocation.takes)


def test_take_in_order_skips_empty_sources():
    assert take_in_order(3, [("a", 0), ("b", 2), ("c", 5)]) == ([("b", 2), ("c", 1)], 0)


def test_pick_sequence_is_walk_then_code_then_order_line():
    def cand(rid: int, loc: str, seq: int, order_id: int, line_no: int) -> PickCandidate:
        return PickCandidate(rid, rid, order_id, line_no, 1, 1, loc, seq, "", 1)

    ordered = pick_sequence([cand(1, "B", 2, 1, 1), cand(2, "A", 2, 2, 1), cand(3, "Z", 1, 1, 2),
                             cand(4, "A", 2, 1, 3)])
    assert [c.reservation_id for c in ordered] == [3, 4, 2, 1]
