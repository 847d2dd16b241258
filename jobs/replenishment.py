"""The replenishment job: a thin adapter onto backend.domain.replenishment. Safe to run twice (a run
replaces the open suggestions in one transaction; approved ones stay), bounded in time (forecasting
stops starting batches after its budget, below the job's time limit)."""

from __future__ import annotations

from typing import Any

import msgspec

from backend.domain import replenishment
from jobs.observe import progress_of


async def replenish(ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Forecast demand, compute every item-warehouse policy, replace the open suggestions."""
    progress = progress_of(ctx)
    summary = await replenishment.run_replenishment(progress=progress, run_id=progress.run_id)
    counts: dict[str, Any] = msgspec.to_builtins(summary)
    return counts
