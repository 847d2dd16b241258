"""`stockline replenish`: run replenishment now in this process (recorded as a job run like any other)
and print what it suggests. Registered by backend/cli.py."""

from __future__ import annotations

from typing import Any

import click


@click.command("replenish", help="Forecast demand, compute reorder points and replace the open purchase and"
                                 " transfer suggestions; prints the summary and the suggestions.")
@click.option("--quiet", is_flag=True, help="Print the summary only.")
def replenish(quiet: bool) -> None:
    from backend.cli import _with_db
    from backend.domain import job_runs, replenishment
    from backend.domain.errors import DomainError
    from jobs.replenishment import replenish as replenish_job
    from jobs.runs import run_in_process

    async def work() -> tuple[dict[str, Any], list[replenishment.SuggestionView]]:
        run_id = await job_runs.queue_run("replenish", "system:cli")
        result: dict[str, Any] = await run_in_process(replenish_job, f"manual:{run_id}:cli", tries_max=1)
        return result, [] if quiet else await replenishment.list_suggestions()

    try:
        result, rows = _with_db(work)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(" ".join(f"{k}={v}" for k, v in result.items()))
    for s in rows:
        source = f"from {s.from_warehouse_code}" if s.kind == "transfer" else (s.supplier_code or "no supplier")
        error = f" MAE {s.forecast_mae:.2f} bias {s.forecast_bias:+.2f}" if s.forecast_mae is not None else ""
        click.echo(f"{s.kind:8} {s.sku:20} {s.warehouse_code:10} {source:14} qty {s.qty:>7}  d {s.demand_daily:.2f}"
                   f" σd {s.demand_sd:.2f} L {s.lead_days:.1f} σL {s.lead_sd:.1f} SS {s.safety_stock:.1f}"
                   f" ROP {s.reorder_point:.1f} avail {s.available} on order {s.on_order}"
                   f" [{s.forecast_method}{error}]")
