"""`stockline jobs ...`: list recent job runs, run one now in this process. Registered by backend/cli.py."""

from __future__ import annotations

import click


@click.group(help="Background jobs: what ran, what failed, run one now.")
def jobs() -> None:
    pass


@jobs.command("list", help="Recent runs, newest first.")
@click.option("--failures", is_flag=True, help="Only failed, stuck and retried runs.")
@click.option("--limit", default=20, show_default=True, type=int)
def jobs_list(failures: bool, limit: int) -> None:
    from backend.cli_channels import _run
    from backend.domain import job_runs

    for r in _run(lambda: job_runs.recent_runs(failures_only=failures, limit=limit)):
        took = f"{r.seconds:.1f} s" if r.seconds is not None else "-"
        what = r.error or ", ".join(f"{k} {v}" for k, v in r.result_items)
        click.echo(f"#{r.id}  {r.kind}  try {r.job_try}  {r.status}  {r.started_at or 'not started'}  {took}  {what}")


@jobs.command("run", help="Run a job now in this process (recorded like any other run) and print its result.")
@click.argument("kind")
def jobs_run(kind: str) -> None:
    from backend.cli_channels import _run
    from backend.domain import job_runs
    from jobs.runs import run_in_process, startable

    known = dict(startable())
    if kind not in known:
        raise click.BadParameter(f"one of {', '.join(known)}", param_hint="KIND")

    async def work() -> object:
        run_id = await job_runs.queue_run(kind, "system:cli")
        return await run_in_process(known[kind].job, f"manual:{run_id}:cli")

    click.echo(_run(work))
