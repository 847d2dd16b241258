"""From arrays to decisions, without the database: demand statistics, policy outputs, order
quantities and transfers for every pair at once. `bench/replenishment.py` times this against plain
NumPy; the job feeds it what `_inputs.py` read and writes what it returns (`_suggestions.py`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.domain.replenishment._formulas import (
    Floats,
    Ints,
    PolicyInputs,
    PolicyOutputs,
    compute,
    demand_stats,
    excess_over_level,
    round_to_moq_and_pack,
    z_for,
)


@dataclass(frozen=True, slots=True)
class PairArrays:
    """One element per item-warehouse pair (rows of `history`)."""

    item_id: Ints
    warehouse_id: Ints
    history: Floats  # pairs × days of demand, oldest first, zero-filled
    kind: Ints
    service_level: Floats
    review_days: Floats
    min_qty: Floats
    max_qty: Floats
    lead_days: Floats
    lead_sd: Floats
    available: Ints
    on_order: Ints
    moq: Ints
    case_pack: Ints


@dataclass(frozen=True, slots=True)
class Transfer:
    item_id: int
    from_row: int  # the pair with excess
    to_row: int  # the pair that needs it
    qty: int


@dataclass(frozen=True, slots=True)
class Plan:
    demand_mean: Floats  # history's daily mean
    demand: Floats  # d used (the forecast's where there is one)
    demand_sd: Floats
    z: Floats
    outputs: PolicyOutputs
    transfers: list[Transfer]
    purchase_need: Ints  # need left after transfers (before rounding)
    purchase_qty: Ints  # rounded to MOQ and case pack


def z_per_pair(service_level: Floats) -> Floats:
    """z for each pair; the normal quantile is computed once per distinct service level."""
    levels, where = np.unique(service_level, return_inverse=True)
    return np.array([z_for(float(level)) for level in levels], dtype=np.float64)[where]


def plan(pairs: PairArrays, *, demand: Floats | None = None) -> Plan:
    """Every pair's policy numbers and order; `demand` replaces the history's mean as d where given
    (the forecasts'), σd always comes from the history."""
    mean, sd = demand_stats(pairs.history)
    d = mean if demand is None else demand
    z = z_per_pair(pairs.service_level)
    outputs = compute(PolicyInputs(pairs.kind, z, pairs.review_days, pairs.min_qty, pairs.max_qty, d, sd,
                                   pairs.lead_days, pairs.lead_sd, pairs.available, pairs.on_order, pairs.moq,
                                   pairs.case_pack))
    excess = excess_over_level(pairs.available, pairs.on_order, outputs.order_up_to, outputs.need)
    transfers, need_left = match_transfers(pairs.item_id, outputs.need, excess)
    return Plan(mean, d, sd, z, outputs, transfers, need_left,
                round_to_moq_and_pack(need_left, pairs.moq, pairs.case_pack))


def match_transfers(item_id: Ints, need: Ints, excess: Ints) -> tuple[list[Transfer], Ints]:
    """Cover needs from other warehouses' excess of the same item: the largest need first, from the
    largest excess first. Returns the transfers and each pair's need still left to buy."""
    left = need.copy()
    spare = excess.copy()
    needing_items = np.unique(item_id[need > 0])
    offering_items = np.unique(item_id[excess > 0])
    both = np.intersect1d(needing_items, offering_items, assume_unique=True)
    transfers: list[Transfer] = []
    if both.size == 0:
        return transfers, left
    rows = np.flatnonzero(np.isin(item_id, both))
    by_item: dict[int, list[int]] = {}
    for row in rows.tolist():
        by_item.setdefault(int(item_id[row]), []).append(row)
    for item, item_rows in by_item.items():
        takers = sorted((r for r in item_rows if left[r] > 0), key=lambda r: (-int(left[r]), r))
        givers = sorted((r for r in item_rows if spare[r] > 0), key=lambda r: (-int(spare[r]), r))
        for taker in takers:
            for giver in givers:
                qty = int(min(left[taker], spare[giver]))
                if qty <= 0:
                    continue
                transfers.append(Transfer(item, giver, taker, qty))
                left[taker] -= qty
                spare[giver] -= qty
                if left[taker] == 0:
                    break
    return transfers, left
