"""Pure allocation and walk order: which bins a line reserves from, in which order a picker
walks, which lines a packed quantity counts against. No I/O, unit tested."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

K = TypeVar("K")


def take_in_order(need: int, available: Sequence[tuple[K, int]]) -> tuple[list[tuple[K, int]], int]:
    """Take up to `need` from each source in the given order; returns (takes, still missing)."""
    assert need > 0, need
    takes: list[tuple[K, int]] = []
    remaining = need
    for source, free in available:
        if remaining == 0:
            break
        if free <= 0:
            continue
        take = min(remaining, free)
        takes.append((source, take))
        remaining -= take
    assert sum(q for _, q in takes) + remaining == need
    return takes, remaining


@dataclass(frozen=True, slots=True)
class BinStock:
    """Free stock of one item (and lot) in one bin."""

    location: str
    walk_seq: int
    lot: str
    available: int


@dataclass(frozen=True, slots=True)
class Allocation:
    takes: list[tuple[BinStock, int]] = field(default_factory=list)
    backordered: int = 0

    @property
    def allocated(self) -> int:
        return sum(qty for _, qty in self.takes)


def walk_order(walk_seq: int, location: str, lot: str = "") -> tuple[int, str, str]:
    """Bins are visited by walk sequence; equal sequences fall back to the bin code, then lot.

    Sorted here rather than in SQL: Postgres collations order codes like 'A-10' and 'A1'
    differently from SQLite, and a walk must not depend on the database.
    """
    return (walk_seq, location, lot)


def allocate(need: int, stock: Sequence[BinStock]) -> Allocation:
    """Reserve from bins in walk order until `need` is met; whatever is left is backordered.

    Walk order (not biggest bin first) keeps the picker's route short; splitting a line
    across bins is fine because each bin becomes its own pick line.
    """
    ordered = sorted(stock, key=lambda s: walk_order(s.walk_seq, s.location, s.lot))
    takes, missing = take_in_order(need, [(s, s.available) for s in ordered])
    return Allocation(takes, missing)


@dataclass(frozen=True, slots=True)
class PickCandidate:
    """An open reservation of an order line that is not on a pick list yet."""

    reservation_id: int
    order_line_id: int
    order_id: int
    line_no: int
    item_id: int
    location_id: int
    location: str
    walk_seq: int
    lot: str
    qty: int


def pick_sequence(candidates: Sequence[PickCandidate]) -> list[PickCandidate]:
    """Walk order; lines in the same bin stay together by order and line number."""
    return sorted(candidates, key=lambda c: (*walk_order(c.walk_seq, c.location, c.lot), c.order_id, c.line_no,
                                             c.reservation_id))
