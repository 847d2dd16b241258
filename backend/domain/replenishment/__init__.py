"""Replenishment: what to buy (or move between warehouses), how much and why.

A run (`run_replenishment`, the `replenish` job) reads demand from the ledger's shipments, stock,
open purchase orders, suppliers' terms and observed lead times set-based; forecasts each pair's demand
with statsforecast, back-tested against seasonal naive; computes every pair's policy at once with NumPy
(`_formulas.py`); and replaces the open suggestions. A planner edits and approves them on the tablet:
purchases become draft purchase orders per supplier (backend/domain/purchasing).
"""

from backend.domain.replenishment._forecast import (
    BACKTEST_DAYS,
    INTERMITTENT_ZERO_SHARE,
    ForecastChoice,
    Method,
    forecast_pairs,
)
from backend.domain.replenishment._formulas import (
    POLICY_KINDS,
    PolicyInputs,
    PolicyKind,
    PolicyOutputs,
    compute,
    demand_stats,
    round_to_moq_and_pack,
    z_for,
)
from backend.domain.replenishment._inputs import DemandHistory, demand_history
from backend.domain.replenishment._plan import PairArrays, Plan, Transfer, plan
from backend.domain.replenishment._policies import (
    DEFAULT_LEAD_DAYS,
    DEFAULT_POLICY,
    PolicySpec,
    PolicyView,
    list_policies,
    set_policy,
    set_policy_by_codes,
)
from backend.domain.replenishment._run import RunSummary, run_replenishment
from backend.domain.replenishment._suggestions import (
    Approval,
    SuggestionView,
    UnknownSuggestion,
    approve,
    get_suggestion,
    list_suggestions,
    set_quantity,
)

__all__ = [
    "BACKTEST_DAYS", "DEFAULT_LEAD_DAYS", "DEFAULT_POLICY", "INTERMITTENT_ZERO_SHARE", "POLICY_KINDS", "Approval",
    "DemandHistory", "ForecastChoice", "Method", "PairArrays", "Plan", "PolicyInputs", "PolicyKind",
    "PolicyOutputs", "PolicySpec", "PolicyView", "RunSummary", "SuggestionView", "Transfer", "UnknownSuggestion",
    "approve", "compute", "demand_history", "demand_stats", "forecast_pairs", "get_suggestion", "list_policies",
    "list_suggestions", "plan", "round_to_moq_and_pack", "run_replenishment", "set_policy", "set_policy_by_codes",
    "set_quantity", "z_for",
]
