"""The replenishment formulas, vectorised: one NumPy array per quantity, one element per
item-warehouse pair, so 100,000 pairs cost a few array passes rather than 100,000 Python loops.

Units: demand in base units per day, lead time and review period in days.

- Safety stock (continuous review): SS = z·√(L·σd² + d²·σL²); reorder point ROP = d·L + SS.
- Periodic review (order-up-to): the order must cover the review period R and the lead time, so
  SS = z·√((R+L)·σd² + d²·σL²) and S = d·(R+L) + SS; at each review order S − position.
- Min/max: the manager's min is the reorder point and max the order-up-to level; the safety stock
  shown is what the min keeps beyond the lead time's demand (min − d·L).
- Reorder point: when the position falls to ROP, order up to ROP + d·R (an order covers R days).

The inventory position is available stock plus open purchase orders (on order); the order is
the level minus the position, raised to the MOQ, then up to whole case packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

PolicyKind = Literal["rop", "minmax", "periodic"]
POLICY_KINDS: tuple[PolicyKind, ...] = ("rop", "minmax", "periodic")
KIND_CODE: dict[PolicyKind, int] = {kind: n for n, kind in enumerate(POLICY_KINDS)}
SERVICE_LEVEL_MIN = 0.5
SERVICE_LEVEL_MAX = 0.9999
HISTORY_DAYS_MIN = 28  # a pair that started selling recently is averaged over at least four weeks
_EPSILON = 1e-9  # float noise must not turn an exact 10.0 into an order of 11

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def z_for(service_level: float) -> float:
    """The normal quantile for a cycle service level (0.95 → 1.645)."""
    assert SERVICE_LEVEL_MIN <= service_level <= SERVICE_LEVEL_MAX, service_level
    return NormalDist().inv_cdf(service_level)


def demand_stats(history: Floats) -> tuple[Floats, Floats]:
    """Daily demand mean and sample standard deviation per row of a pairs × days matrix (zero-filled,
    oldest day first). A pair is measured from its first day of demand (at least HISTORY_DAYS_MIN
    days back): the zeros before an item was first sold are not demand it missed."""
    assert history.ndim == 2
    pairs, days = history.shape
    if days == 0:
        return np.zeros(pairs), np.zeros(pairs)
    sold = history > 0
    first = np.where(sold.any(axis=1), sold.argmax(axis=1), days)
    span = np.minimum(days, np.maximum(days - first, HISTORY_DAYS_MIN)).astype(np.float64)
    # Days before the span hold zeros only (they precede the first sale), so plain sums are the span's.
    total = history.sum(axis=1)
    squares = np.einsum("ij,ij->i", history, history)
    mean = total / span
    variance = np.maximum(squares - span * mean * mean, 0.0) / np.maximum(span - 1.0, 1.0)
    return mean, np.sqrt(variance)


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """Everything the formulas need, one element per pair."""

    kind: Ints  # KIND_CODE
    z: Floats
    review_days: Floats
    min_qty: Floats  # min/max only
    max_qty: Floats
    demand: Floats  # d
    demand_sd: Floats  # σd
    lead_days: Floats  # L
    lead_sd: Floats  # σL
    available: Ints
    on_order: Ints
    moq: Ints
    case_pack: Ints


@dataclass(frozen=True, slots=True)
class PolicyOutputs:
    safety_stock: Floats
    reorder_point: Floats  # ROP; min for min/max; S for periodic review
    order_up_to: Floats
    position: Ints  # available + on order
    need: Ints  # units below the order-up-to level when the policy says order (before rounding)
    qty: Ints  # need raised to the MOQ and whole case packs


def round_to_moq_and_pack(need: Ints, moq: Ints, case_pack: Ints) -> Ints:
    """0 stays 0; else at least the MOQ, then up to a whole number of case packs."""
    assert bool((moq >= 1).all())
    assert bool((case_pack >= 1).all())
    wanted = np.maximum(need, moq)
    packs = -(-wanted // case_pack)  # ceiling division in integers
    return np.where(need > 0, packs * case_pack, 0).astype(np.int64)


def compute(p: PolicyInputs) -> PolicyOutputs:
    d, sd, lead, lead_sd = p.demand, p.demand_sd, p.lead_days, p.lead_sd
    is_periodic = p.kind == KIND_CODE["periodic"]
    is_minmax = p.kind == KIND_CODE["minmax"]
    cover = lead + np.where(is_periodic, p.review_days, 0.0)  # the days the safety stock protects
    ss_formula = p.z * np.sqrt(cover * sd * sd + d * d * lead_sd * lead_sd)
    rop_formula = d * lead + ss_formula
    periodic_s = d * cover + ss_formula
    reorder_point = np.where(is_minmax, p.min_qty, np.where(is_periodic, periodic_s, rop_formula))
    order_up_to = np.where(is_minmax, p.max_qty,
                           np.where(is_periodic, periodic_s, rop_formula + d * p.review_days))
    safety_stock = np.where(is_minmax, p.min_qty - d * lead, ss_formula)
    position = p.available + p.on_order
    triggered = np.where(is_periodic, position < reorder_point - _EPSILON, position <= reorder_point + _EPSILON)
    need = np.where(triggered, np.ceil(order_up_to - position - _EPSILON), 0.0)
    need_units = np.maximum(need, 0.0).astype(np.int64)
    return PolicyOutputs(safety_stock, reorder_point, order_up_to, position.astype(np.int64), need_units,
                         round_to_moq_and_pack(need_units, p.moq, p.case_pack))


def excess_over_level(available: Ints, on_order: Ints, order_up_to: Floats, need: Ints) -> Ints:
    """Units a warehouse holds above its own order-up-to level (max for min/max) that it could send
    elsewhere without falling below it; a warehouse that needs stock itself has none to spare."""
    spare = np.floor(available + on_order - order_up_to + _EPSILON)
    return np.where(need > 0, 0, np.clip(spare, 0, available)).astype(np.int64)
