"""Channel sync jobs: push available-to-sell, check for drift, confirm shipments. Thin adapters onto
backend.domain.channel_sync; each may run twice or on two workers at once (a channel is synced by one
run at a time, a confirmation is claimed by one), is bounded in time (what is left waits for the next
run), and retries with backoff when a channel does not answer (arq's Retry; the last try fails the run
with the reason)."""

from __future__ import annotations

from typing import Any

from arq.worker import Retry

from backend.domain import channel_sync
from jobs.observe import RUNNER, progress_of
from jobs.runs import may_retry, retry_defer_s

PUSH_RUN_S_MAX = 240  # below the worker's JOB_TIMEOUT_S (300)
CHECK_RUN_S_MAX = 270
CONFIRM_RUN_S_MAX = 120


class ChannelSyncFailed(Exception):
    """Some channel did not answer usefully on the last try; the run's error names it."""


def _owner(ctx: dict[str, Any] | None) -> str:
    return f"{RUNNER}:{(ctx or {}).get('job_id') or 'direct'}"


def _retry_or_fail(ctx: dict[str, Any] | None, problem: str) -> None:
    failure = ChannelSyncFailed(problem)
    if may_retry(ctx):
        raise Retry(defer=retry_defer_s(int((ctx or {}).get("job_try") or 1))) from failure
    raise failure


def _outcome(ctx: dict[str, Any] | None, report: channel_sync.SyncReport) -> dict[str, Any]:
    """The counts; or a retry (a channel did not answer usefully), or a failed run naming the channel that
    refused (credentials, a bad request): the other channels were synced either way."""
    if report.unavailable:
        _retry_or_fail(ctx, "; ".join(f"{r.channel}: {r.error}" for r in report.unavailable))
    refused = [r for r in report.runs if r.error]
    if refused:
        raise ChannelSyncFailed("; ".join(f"{r.channel}: {r.error}" for r in refused)[:900])
    return report.counts()


async def push_channel_stock(ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send each channel the available-to-sell quantities that changed since it last took one."""
    report = await channel_sync.push_stock(owner=_owner(ctx), run_s_max=PUSH_RUN_S_MAX, progress=progress_of(ctx))
    return _outcome(ctx, report)


async def check_channel_stock(ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read what each channel holds, compare with available-to-sell, correct the differences, report them."""
    report = await channel_sync.check_stock(owner=_owner(ctx), run_s_max=CHECK_RUN_S_MAX, progress=progress_of(ctx))
    return _outcome(ctx, report)


async def confirm_channel_shipments(ctx: dict[str, Any] | None = None) -> dict[str, int]:
    """Send new shipments of channel orders to their channel; retry the ones it has not accepted yet."""
    report = await channel_sync.confirm_shipments(run_s_max=CONFIRM_RUN_S_MAX)
    return {"found": report.found, "accepted": report.accepted, "failed": report.failed, "waiting": report.waiting}
