"""Which warehouse ships which units, and why. Pure: no I/O, unit tested.

Rules, in order (each line's reason says which one decided):
1. Dropship lines go to the supplier and take no warehouse stock.
2. Ship complete: if one warehouse holds every line, it ships the whole order; among several, the
   nearest to the destination (warehouse regions), then the channel's own warehouse order.
3. Otherwise, when the channel does not split orders: the nearest warehouse with stock for the order
   ships what it has; the rest is backordered there.
4. Otherwise split: each line takes from the nearest warehouse with stock, then the next.
Whatever no warehouse has is backordered. Channel priority decides which order is allocated first
(the caller's order of work), not how one order is allocated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DISTANCE_UNKNOWN = 1_000_000


@dataclass(frozen=True, slots=True)
class Region:
    warehouse_id: int
    country: str
    postcode_prefix: str
    rank: int


@dataclass(frozen=True, slots=True)
class WarehouseOption:
    id: int
    code: str
    rank: int  # the channel's order of its warehouses (1 = first)
    distance: int = DISTANCE_UNKNOWN  # to this order's destination; lower is nearer


@dataclass(frozen=True, slots=True)
class LineNeed:
    line_no: int
    item_id: int
    qty: int
    dropship: bool = False


@dataclass(frozen=True, slots=True)
class LineDecision:
    line_no: int
    item_id: int
    takes: tuple[tuple[int, int], ...]  # (warehouse id, qty)
    backordered: int
    reason: str

    @property
    def allocated(self) -> int:
        return sum(q for _, q in self.takes)


def distance(regions: Sequence[Region], warehouse_id: int, country: str, postcode: str) -> int:
    """Rank of the warehouse's most specific region (longest postcode prefix) that covers the
    destination; DISTANCE_UNKNOWN when none does (or the destination is unknown)."""
    country, postcode = country.strip().upper(), postcode.strip().upper().replace(" ", "")
    if not country:
        return DISTANCE_UNKNOWN
    best: tuple[int, int] | None = None  # (-prefix length, rank)
    for r in regions:
        if r.warehouse_id != warehouse_id or r.country.upper() != country:
            continue
        prefix = r.postcode_prefix.upper().replace(" ", "")
        if postcode.startswith(prefix):
            candidate = (-len(prefix), r.rank)
            best = candidate if best is None or candidate < best else best
    return DISTANCE_UNKNOWN if best is None else best[1]


def _by_preference(warehouses: Sequence[WarehouseOption]) -> list[WarehouseOption]:
    return sorted(warehouses, key=lambda w: (w.distance, w.rank, w.id))


def _why_complete(chosen: WarehouseOption, among: Sequence[WarehouseOption], destination: str) -> str:
    head = f"ship complete from {chosen.code}"
    if len(among) == 1:
        return f"{head}: the only warehouse that holds every line"
    if chosen.distance < DISTANCE_UNKNOWN and destination:
        return f"{head}: nearest to {destination} of {len(among)} warehouses that hold every line"
    return f"{head}: first in the channel's warehouse order of {len(among)} that hold every line"


def plan(needs: Sequence[LineNeed], warehouses: Sequence[WarehouseOption], free: Mapping[tuple[int, int], int],
         *, allow_split: bool, destination: str = "") -> list[LineDecision]:
    """One decision per line. `free[(item_id, warehouse_id)]` is what the warehouse can still give."""
    assert len({n.line_no for n in needs}) == len(needs), "line numbers are unique"
    assert all(n.qty > 0 for n in needs)
    stocked = [n for n in needs if not n.dropship]
    decisions = {n.line_no: LineDecision(n.line_no, n.item_id, (), 0,
                                         "dropship: the supplier ships it; no warehouse stock reserved")
                 for n in needs if n.dropship}
    ordered = _by_preference(warehouses)
    want: dict[int, int] = defaultdict(int)
    for n in stocked:
        want[n.item_id] += n.qty
    complete = [w for w in ordered if all(free.get((item, w.id), 0) >= qty for item, qty in want.items())]
    if stocked and complete:
        chosen = complete[0]
        why = _why_complete(chosen, complete, destination)
        for n in stocked:
            decisions[n.line_no] = LineDecision(n.line_no, n.item_id, ((chosen.id, n.qty),), 0, why)
    elif stocked:
        decisions.update(_partial(stocked, ordered, free, allow_split, destination))
    return [decisions[n.line_no] for n in needs]


def _partial(needs: Sequence[LineNeed], ordered: list[WarehouseOption], free: Mapping[tuple[int, int], int],
             allow_split: bool, destination: str) -> dict[int, LineDecision]:
    left = dict(free)
    if not allow_split:
        with_stock = [w for w in ordered if any(left.get((n.item_id, w.id), 0) > 0 for n in needs)]
        chosen = (with_stock or ordered)[0] if ordered else None
        candidates = [chosen] if chosen else []
        head = (f"from {chosen.code}: nearest warehouse with stock for this order; no warehouse holds every line"
                " and this channel does not split orders" if chosen else "no warehouse ships this order")
    else:
        candidates = ordered
        head = "split: no warehouse holds every line"
    out: dict[int, LineDecision] = {}
    for n in needs:
        takes: list[tuple[int, int]] = []
        need = n.qty
        for w in candidates:
            have = left.get((n.item_id, w.id), 0)
            if need == 0 or have <= 0:
                continue
            take = min(need, have)
            takes.append((w.id, take))
            left[(n.item_id, w.id)] = have - take
            need -= take
        codes = {w.id: w.code for w in candidates}
        parts = [f"{q} from {codes[wid]}" for wid, q in takes]
        reason = head if not allow_split else f"{head}; {', '.join(parts)} (nearest with stock first)"
        if need:
            where = ", ".join(w.code for w in candidates) or "any warehouse"
            backordered = f"{need} backordered: not enough in {where}"
            reason = f"{reason}; {backordered}" if takes else backordered
        out[n.line_no] = LineDecision(n.line_no, n.item_id, tuple(takes), need, reason)
        assert out[n.line_no].allocated + need == n.qty
    return out
