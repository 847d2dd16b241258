"""Allocation rules as pure decisions: ship complete, nearest, no split, split, backorder, dropship."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.domain.orders import DISTANCE_UNKNOWN, LineNeed, Region, WarehouseOption, plan
from backend.domain.orders._allocation import distance

EAST, WEST = WarehouseOption(1, "EAST", rank=1, distance=5), WarehouseOption(2, "WEST", rank=2, distance=1)
MUG, LAMP = 10, 20


def test_ship_complete_beats_nearest():
    free = {(MUG, 1): 5, (LAMP, 1): 5, (MUG, 2): 5}  # WEST is nearer but has no LAMP
    decisions = plan([LineNeed(1, MUG, 2), LineNeed(2, LAMP, 1)], [EAST, WEST], free, allow_split=True)
    assert [d.takes for d in decisions] == [((1, 2),), ((1, 1),)]
    assert decisions[0].reason.startswith("ship complete from EAST: the only warehouse that holds every line")


def test_nearest_of_the_warehouses_that_ship_complete():
    free = {(MUG, 1): 5, (MUG, 2): 5}
    [d] = plan([LineNeed(1, MUG, 2)], [EAST, WEST], free, allow_split=True, destination="US 94107")
    assert d.takes == ((2, 2),) and "ship complete from WEST: nearest to US 94107 of 2" in d.reason


def test_channel_order_breaks_ties_when_nothing_is_nearer():
    a, b = WarehouseOption(1, "A", 2), WarehouseOption(2, "B", 1)
    [d] = plan([LineNeed(1, MUG, 1)], [a, b], {(MUG, 1): 1, (MUG, 2): 1}, allow_split=True)
    assert d.takes == ((2, 1),) and "first in the channel's warehouse order" in d.reason


def test_split_takes_the_nearest_first_and_backorders_the_rest():
    free = {(MUG, 1): 2, (MUG, 2): 1, (LAMP, 1): 1}
    mug, lamp = plan([LineNeed(1, MUG, 5), LineNeed(2, LAMP, 1)], [EAST, WEST], free, allow_split=True)
    assert (mug.takes, mug.backordered) == (((2, 1), (1, 2)), 2)
    assert "split" in mug.reason and "1 from WEST, 2 from EAST" in mug.reason and "2 backordered" in mug.reason
    assert (lamp.takes, lamp.backordered) == (((1, 1),), 0)


def test_without_split_the_nearest_warehouse_with_stock_ships_what_it_has():
    free = {(MUG, 1): 2, (MUG, 2): 1, (LAMP, 1): 1}  # no warehouse has every unit
    mug, lamp = plan([LineNeed(1, MUG, 3), LineNeed(2, LAMP, 1)], [EAST, WEST], free, allow_split=False)
    assert (mug.takes, mug.backordered, lamp.takes, lamp.backordered) == (((2, 1),), 2, (), 1)
    assert "from WEST: nearest warehouse with stock" in mug.reason and "does not split" in mug.reason


def test_dropship_lines_take_no_stock():
    ds, mug = plan([LineNeed(1, MUG, 3, dropship=True), LineNeed(2, MUG, 1)], [EAST], {(MUG, 1): 1},
                   allow_split=True)
    assert (ds.takes, ds.backordered, mug.takes) == ((), 0, ((1, 1),))
    assert ds.reason.startswith("dropship")


def test_region_distance_uses_the_longest_matching_postcode_prefix():
    regions = [Region(1, "US", "", 5), Region(1, "US", "94", 1), Region(2, "DE", "", 1)]
    assert distance(regions, 1, "us", "94107") == 1
    assert distance(regions, 1, "US", "10001") == 5
    assert distance(regions, 2, "US", "94107") == DISTANCE_UNKNOWN
    assert distance(regions, 1, "", "") == DISTANCE_UNKNOWN


@given(st.lists(st.integers(1, 20), min_size=1, max_size=5), st.dictionaries(
    st.tuples(st.sampled_from([MUG, LAMP]), st.sampled_from([1, 2])), st.integers(0, 30)), st.booleans())
def test_nothing_is_taken_twice_and_every_unit_is_allocated_or_backordered(qtys, free, split):
    needs = [LineNeed(n, MUG if n % 2 else LAMP, q) for n, q in enumerate(qtys, start=1)]
    decisions = plan(needs, [EAST, WEST], free, allow_split=split)
    taken: dict[tuple[int, int], int] = {}
    for need, d in zip(needs, decisions, strict=True):
        assert d.allocated + d.backordered == need.qty
        for wid, q in d.takes:
            assert q > 0
            taken[(need.item_id, wid)] = taken.get((need.item_id, wid), 0) + q
    assert all(q <= free.get(k, 0) for k, q in taken.items())
