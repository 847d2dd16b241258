"""Tablet: background jobs. Recent runs with live progress (the list reloads itself while a run is queued
or running), one run's page (it polls itself until the run ends), failures, "Run now" for a manager, and
each connected channel's stock and shipment sync."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.domain import channel_sync, job_runs
from backend.domain.errors import InvalidInput
from backend.http.connection import AppRequest, settings_of
from backend.http.errors import NotFound
from backend.http.session import actor, requires
from jobs.runs import start_job, startable

RUNS_SHOWN = 50
_FAILURES = {"": False, "yes": True}


def _htmx_fragment(request: AppRequest) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")


async def _runs_context(failures: str) -> dict[str, Any]:
    if failures not in _FAILURES:
        raise InvalidInput("The failures filter is yes or empty.")
    runs = await job_runs.recent_runs(failures_only=_FAILURES[failures], limit=RUNS_SHOWN)
    labels = {kind: s.label for kind, s in startable()}
    return {"runs": runs, "failures": failures, "labels": labels, "any_active": any(r.active for r in runs)}


@get("/tablet/jobs", name="tablet_jobs", guards=[requires("jobs_manage")])
async def jobs_page(request: AppRequest, failures: FromQuery[str] = "") -> Template:
    context = await _runs_context(failures)
    if _htmx_fragment(request):
        return Template(template_name="tablet/_job_runs.html", context=context, headers={"Vary": "HX-Request"})
    context.update(title="Jobs", startable=startable(), channels=await channel_sync.sync_overview())
    return Template(template_name="tablet/jobs.html", context=context, headers={"Vary": "HX-Request"})


@post("/tablet/jobs/start", name="tablet_job_start", guards=[requires("jobs_manage")])
async def start(request: AppRequest) -> Redirect:
    form = await request.form()
    run_id = await start_job(settings_of(request), str(form.get("kind") or ""), actor(request))
    return Redirect(path=request.app.route_reverse("tablet_job_run", run_id=run_id), status_code=303)


@get("/tablet/jobs/{run_id:int}", name="tablet_job_run", guards=[requires("jobs_manage")])
async def run_page(request: AppRequest, run_id: FromPath[int]) -> Template:
    try:
        run = await job_runs.get_run(run_id)
    except job_runs.UnknownRun as exc:
        raise NotFound(exc.message) from exc
    labels = {kind: s.label for kind, s in startable()}
    context = {"run": run, "labels": labels}
    if _htmx_fragment(request):
        return Template(template_name="tablet/_job_run.html", context=context, headers={"Vary": "HX-Request"})
    return Template(template_name="tablet/job_run.html", context={**context, "title": f"Job run #{run.id}"},
                    headers={"Vary": "HX-Request"})


ROUTES = [jobs_page, start, run_page]
