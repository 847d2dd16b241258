"""Background job runs: one row per attempt (kind, start, end, progress done/total, result, error),
written by the job wrapper (`jobs/observe.py`) on the arq worker and in the web process alike, read by
the tablet's Jobs screen. Stuck runs are found by their missing heartbeat."""

from backend.domain.job_runs._runs import (
    ACTIVE,
    JobStatus,
    Progress,
    RunView,
    Trigger,
    UnknownRun,
    finish_run,
    get_run,
    heartbeat,
    latest_per_kind,
    mark_stuck,
    prune_runs,
    queue_run,
    recent_runs,
    report_progress,
    start_run,
    trigger_of,
)

__all__ = [
    "ACTIVE",
    "JobStatus",
    "Progress",
    "RunView",
    "Trigger",
    "UnknownRun",
    "finish_run",
    "get_run",
    "heartbeat",
    "latest_per_kind",
    "mark_stuck",
    "prune_runs",
    "queue_run",
    "recent_runs",
    "report_progress",
    "start_run",
    "trigger_of",
]
