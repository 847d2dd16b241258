"""Recompute every balance from the ledger and report drift (`stockline check`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from backend import db
from backend.domain.locations.service import STOCK_KINDS

_KINDS = ", ".join(f"'{k}'" for k in STOCK_KINDS)

# One signed row per movement side that touches a stock-holding location.
_FROM_MOVEMENTS = f"""
SELECT item_id, loc, lot, SUM(on_hand) AS on_hand, SUM(quarantined) AS quarantined, SUM(damaged) AS damaged
FROM (
  SELECT m.item_id, m.to_location_id AS loc, m.lot, m.qty AS on_hand,
         CASE WHEN m.to_state = 'quarantined' THEN m.qty ELSE 0 END AS quarantined,
         CASE WHEN m.to_state = 'damaged' THEN m.qty ELSE 0 END AS damaged
  FROM movements m JOIN locations l ON l.id = m.to_location_id WHERE l.kind IN ({_KINDS})
  UNION ALL
  SELECT m.item_id, m.from_location_id, m.lot, -m.qty,
         CASE WHEN m.from_state = 'quarantined' THEN -m.qty ELSE 0 END,
         CASE WHEN m.from_state = 'damaged' THEN -m.qty ELSE 0 END
  FROM movements m JOIN locations l ON l.id = m.from_location_id WHERE l.kind IN ({_KINDS})
) sides
GROUP BY item_id, loc, lot
"""

_RESERVED = """
SELECT item_id, location_id AS loc, lot, SUM(open_qty) AS reserved
FROM reservations WHERE status = 'open' GROUP BY item_id, location_id, lot
"""

_COLUMNS = ("on_hand", "reserved", "quarantined", "damaged")


@dataclass(frozen=True, slots=True)
class Drift:
    item_id: int
    location_id: int
    lot: str
    problem: str

    def __str__(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        return f"item #{self.item_id} at location #{self.location_id}{lot}: {self.problem}"


async def check_ledger() -> list[Drift]:
    """Empty list = the balances table is exactly what the movements and reservations say."""
    expected: dict[tuple[int, int, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COLUMNS, 0))
    for r in await db.fetch(_FROM_MOVEMENTS):
        e = expected[(r["item_id"], r["loc"], r["lot"])]
        e.update(on_hand=int(r["on_hand"]), quarantined=int(r["quarantined"]), damaged=int(r["damaged"]))
    for r in await db.fetch(_RESERVED):
        expected[(r["item_id"], r["loc"], r["lot"])]["reserved"] = int(r["reserved"])
    actual = {
        (r["item_id"], r["location_id"], r["lot"]): {c: int(r[c]) for c in _COLUMNS}
        for r in await db.fetch(
            "SELECT item_id, location_id, lot, on_hand, reserved, quarantined, damaged FROM balances"
        )
    }
    drifts: list[Drift] = []
    zero = dict.fromkeys(_COLUMNS, 0)
    for key in sorted(set(expected) | set(actual)):
        want, have = expected.get(key, zero), actual.get(key, zero)
        for column in _COLUMNS:
            if want[column] != have[column]:
                drifts.append(Drift(*key, f"{column} is {have[column]} but the ledger says {want[column]}"))
            if have[column] < 0:
                drifts.append(Drift(*key, f"{column} is negative ({have[column]})"))
        if have["reserved"] + have["quarantined"] + have["damaged"] > have["on_hand"]:
            drifts.append(Drift(*key, "reserved + quarantined + damaged exceeds on hand"))
    for r in await db.fetch(
        "SELECT id FROM reservations WHERE open_qty < 0 OR open_qty > qty OR (status <> 'open' AND open_qty <> 0)"
    ):
        drifts.append(Drift(0, 0, "", f"reservation #{r['id']} has an impossible open quantity"))
    return drifts
