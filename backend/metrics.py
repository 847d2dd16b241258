"""Prometheus metrics: request latency by route, scans applied, sync results, job runs, ledger postings.

Counting is always on (a counter increment is a few hundred nanoseconds); exposing them is off
unless STOCKLINE_METRICS=true (`/metrics` on the web app, a port of its own on the worker).

Several web processes (STOCKLINE_WEB_WORKERS > 1) each count for themselves: `stockline serve`
then points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the processes start, each
process writes its values there and `/metrics` adds them up, so a scrape sees the whole server.
Labels are bounded sets (route templates, not paths; command kinds; job names; statuses).
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # a 404 for a path no route knows: one label, not one per path

REQUEST_SECONDS = Histogram(
    "stockline_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SCANS_APPLIED = Counter("stockline_scans_applied_total", "Handheld scans the server applied, by kind.", ["kind"])
SYNC_RESULTS = Counter("stockline_sync_results_total", "Outbox envelopes answered, by final status.", ["status"])
JOB_RUNS = Counter("stockline_job_runs_total", "Background job runs, by job and outcome.", ["job", "outcome"])
JOB_SECONDS = Histogram("stockline_job_duration_seconds", "Time a background job ran.", ["job"],
                        buckets=(0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0))
LEDGER_POSTINGS = Counter("stockline_ledger_postings_total",
                          "Committed ledger commands that posted movements, by command kind.", ["kind"])
LEDGER_MOVEMENTS = Counter("stockline_ledger_movements_total", "Committed ledger movements, by command kind.",
                           ["kind"])


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def sync_answered(status: str, kind: str) -> None:
    SYNC_RESULTS.labels(status).inc()
    if status == "applied":
        SCANS_APPLIED.labels(kind or "unknown").inc()


def job_ran(job: str, outcome: str, seconds: float) -> None:
    JOB_RUNS.labels(job, outcome).inc()
    JOB_SECONDS.labels(job).observe(seconds)


def ledger_posted(kind: str, movements: int, commands: int = 1) -> None:
    LEDGER_POSTINGS.labels(kind).inc(commands)
    LEDGER_MOVEMENTS.labels(kind).inc(movements)


def exposition() -> bytes:
    """The text format of every metric; summed over the processes when several write them."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
