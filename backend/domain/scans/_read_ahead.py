"""A batch of steps read ahead: every item code and bin code its steps name, in one statement each, so
interpreting each step reads nothing more (sync/replay.py reads a device's batch this way).

Inside `reading_from(codes)` the interpreter takes a step's codes from what was read ahead when all of
them were, else it reads them itself as outside: what a code names does not depend on the codes read
beside it, and a code the resolver would refuse (a malformed barcode, a pallet label) is not read
ahead, so the step that names it gets the same error as when read alone.

Nothing a batch applies changes the catalogue or the bins (receipts, moves, picks, counts, adjustments
and found stock write stock, counts and exceptions; items, barcodes, units and locations are written only
by the catalogue and location screens and imports): the batch is read as the catalogue stood when it
arrived, as each step would be read an instant earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from backend.domain.catalog.service import LOOKUP_BATCH_MAX, ScannedItem, readable_item_code, resolve_item_codes
from backend.domain.locations.service import LocationView, scanned_locations
from backend.domain.scans._steps import Adjust, Move, Receive


@dataclass(frozen=True, slots=True)
class CodesRead:
    """What the codes read ahead name; a code read that names nothing is in `*_codes` but not in the map."""

    items: dict[str, ScannedItem]
    item_codes: frozenset[str]
    bins: dict[str, LocationView]
    bin_codes: frozenset[str]


T = TypeVar("T")
_AHEAD: ContextVar[CodesRead | None] = ContextVar("stockline_scans_read_ahead", default=None)


def _codes_of(step: object) -> tuple[list[str], list[str]]:
    """(item codes, bin codes) the interpreter reads for `step`; none for steps it takes as given."""
    match step:
        case Receive():
            return [e for e in step.items if isinstance(e, str)], [step.to_bin]
        case Move():
            return [e for e in step.items if isinstance(e, str)], [step.from_bin, step.to_bin]
        case Adjust():
            return [step.item_code], [step.bin]
    return [], []


def _distinct(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(c.strip() for c in codes if c.strip()))[:LOOKUP_BATCH_MAX]


async def read_ahead(steps: Iterable[object]) -> CodesRead:
    """The item codes and bins `steps` name, one statement each (none when they name none)."""
    item_codes: list[str] = []
    bin_codes: list[str] = []
    for step in steps:
        items, bins = _codes_of(step)
        item_codes += items
        bin_codes += bins
    wanted_items = _distinct(c for c in item_codes if readable_item_code(c))
    wanted_bins = _distinct(bin_codes)
    items_found = await resolve_item_codes(wanted_items) if wanted_items else {}
    bins_found = await scanned_locations(wanted_bins) if wanted_bins else {}
    return CodesRead(items_found, frozenset(wanted_items), bins_found, frozenset(wanted_bins))


@contextmanager
def reading_from(codes: CodesRead) -> Iterator[None]:
    """Interpret steps with `codes` (read_ahead) instead of reading each step's codes."""
    token = _AHEAD.set(codes)
    try:
        yield
    finally:
        _AHEAD.reset(token)


def _ahead_of(codes: list[str],
              read: Callable[[CodesRead], tuple[frozenset[str], Mapping[str, T]]]) -> dict[str, T] | None:
    """What was read ahead for `codes` (a code that names nothing left out), or None unless all were."""
    ahead = _AHEAD.get()
    if ahead is None:
        return None
    wanted = {c.strip() for c in codes if c.strip()}
    known, found = read(ahead)
    return {c: found[c] for c in wanted if c in found} if wanted <= known else None


async def item_codes(codes: list[str]) -> dict[str, ScannedItem]:
    """resolve_item_codes(codes), from what was read ahead when it holds them all."""
    ahead = _ahead_of(codes, lambda a: (a.item_codes, a.items))
    return ahead if ahead is not None else await resolve_item_codes(codes)


async def locations(codes: list[str]) -> dict[str, LocationView]:
    """scanned_locations(codes), from what was read ahead when it holds them all."""
    ahead = _ahead_of(codes, lambda a: (a.bin_codes, a.bins))
    return ahead if ahead is not None else await scanned_locations(codes)
