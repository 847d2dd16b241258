"""`stockline` console script: serve | worker | demo | migrate | check | probe | import | export | token | user |
channel | jobs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import click

from backend import db
from backend.domain.ledger.retention import RESULT_RETENTION_DAYS, RESULT_RETENTION_DAYS_MIN
from backend.settings import Settings

T = TypeVar("T")
PROBE_TIMEOUT_S = 4  # under the image's HEALTHCHECK --timeout


def _with_db(work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await db.connect(Settings.from_env())
        try:
            return await work()
        finally:
            await db.disconnect()

    return asyncio.run(run())


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from backend.http.app import create_app
    from backend.logging import configure_logging, uvicorn_log_config

    configure_logging(settings.log_level, settings.log_format)
    log_config = uvicorn_log_config(settings.log_format)
    if settings.web_workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level, access_log=False,
                    log_config=log_config)
        return
    # Several processes: each builds its app from the same environment. The SQLite demo's generated
    # CSRF secret is written once here, before the processes start, so they all read the same one.
    settings.csrf_secret()
    with _metrics_shared_by_processes(settings):
        uvicorn.run("backend.http.app:create_app", factory=True, workers=settings.web_workers, host=host, port=port,
                    log_level=settings.log_level, access_log=False, log_config=log_config)


@contextlib.contextmanager
def _metrics_shared_by_processes(settings: Settings) -> Iterator[None]:
    """A fresh directory where every web process writes its metrics (read back summed by /metrics)."""
    from backend.metrics import MULTIPROC_ENV

    if not settings.metrics_enabled or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="stockline-metrics-")
    os.environ[MULTIPROC_ENV] = directory  # inherited by the processes uvicorn starts
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@click.group(help="Stockline: inventory and fulfillment on one append-only ledger.")
def main() -> None:
    pass


@main.command(help="Bring the database to the current schema (safe to run twice).")
def migrate() -> None:
    from backend.migrations import migrate as run_migrations

    applied = _with_db(run_migrations)
    click.echo(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d} {m.name}" for m in applied))


@main.command(help="Compare every balance with the ledger (movements since the last checkpoint);"
                   " exit 1 listing any drift.")
@click.option("--full", is_flag=True, help="Start the checkpoint over: sum every movement from the first.")
def check(full: bool) -> None:
    from backend.domain.ledger.check import run_check

    report = _with_db(lambda: run_check(full=full))
    for d in report.drifts:
        click.echo(f"DRIFT {d}")
    click.echo(report.summary())
    click.echo(f"ledger check: {len(report.drifts)} drift(s)")
    sys.exit(1 if report.drifts else 0)


@main.command("compact-commands",
              help="Drop the stored results of idempotency keys older than the retry window (keys stay).")
@click.option("--keep-days", default=RESULT_RETENTION_DAYS, show_default=True,
              type=click.IntRange(min=RESULT_RETENTION_DAYS_MIN), help="Keep answers this many days.")
def compact_commands(keep_days: int) -> None:
    from backend.domain.ledger.retention import compact_command_log

    click.echo(_with_db(lambda: compact_command_log(keep_days=keep_days)).summary())


@main.command(help="Serve the web app and API.")
@click.option("--host", default=None, help="Bind address (default STOCKLINE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default STOCKLINE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    settings = Settings.from_env()
    _serve(settings, host or settings.host, port or settings.port)


@main.command(help="Run the background job worker (arq; needs STOCKLINE_REDIS_URL).")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@click.option("--check", is_flag=True, help="Exit 0 if a worker reported itself alive recently (health check).")
def worker(burst: bool, check: bool) -> None:
    from arq.worker import check_health, run_worker

    from backend.logging import configure_logging
    from jobs.worker import worker_settings

    settings = Settings.from_env()
    options = worker_settings(settings, burst=burst)
    if check:
        sys.exit(check_health(options))
    configure_logging(settings.log_level, settings.log_format)
    run_worker(options)


@main.command(help="Exit 0 when the server on STOCKLINE_PORT is ready (GET /readyz); the image's HEALTHCHECK.")
@click.option("--port", default=None, type=int, help="Port (default STOCKLINE_PORT or 8000).")
def probe(port: int | None) -> None:
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{port or Settings.from_env().port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
            click.echo(response.read().decode())
    except urllib.error.HTTPError as exc:
        click.echo(f"{exc.code} {exc.read().decode()}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"not answering: {exc}", err=True)
        sys.exit(1)


@main.command(help="Migrate, seed a demo warehouse (once) and serve it on localhost.")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option("--no-serve", is_flag=True, help="Seed only, do not start the server.")
def demo(port: int | None, no_serve: bool) -> None:
    from backend.demo import DEMO_USERS, seed_demo

    settings = Settings.from_env()
    token = _with_db(seed_demo)
    url = f"http://{settings.host}:{port or settings.port}/"
    click.echo(f"Stockline demo: {url}")
    click.echo(f"API token (write): {token}   e.g. curl -H 'Authorization: Bearer {token}' {url}api/v1/items")
    click.echo(f"API schema: {url}api/v1/schema")
    click.echo("Sign in on the floor screens with a badge code and PIN:")
    for code, name, role, pin in DEMO_USERS:
        click.echo(f"  {code:<8} PIN {pin}  {role:<8} {name}")
    if not no_serve:
        _serve(settings, settings.host, port or settings.port)


class _TerminalProgress:
    """Progress of a long import on stderr: one line redrawn on a terminal, a line per 10 % otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, phase: str, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        if self.tty:
            click.echo(f"\r{phase} {done:,}/{total:,} rows", err=True, nl=phase == "done")
        elif (phase, tenth) != self.last:
            click.echo(f"{phase} {done:,}/{total:,} rows", err=True)
        self.last = (phase, tenth)


@main.command("import", help="Import a catalogue CSV: items, barcodes, locations or opening stock. Every row is "
                             "checked first; any error (listed with its line) imports nothing.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["items", "barcodes", "locations", "stock"]), default=None,
              help="What the file holds (default: told by its header).")
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
def import_(path: str, kind: str | None, dry_run: bool) -> None:
    from pathlib import Path

    from backend.domain import imports
    from backend.domain.auth.audit import Actor

    file = Path(path)
    try:
        parsed = imports.read_file(file.read_bytes(), kind, file.name)  # type: ignore[arg-type]
    except imports.InvalidFile as exc:
        click.echo(f"{file.name}: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{file.name}: {len(parsed.rows):,} {parsed.kind} row(s)", err=True)
    report = _with_db(lambda: imports.import_file(parsed, Actor("system:cli", device="cli"), _TerminalProgress(),
                                                  dry_run=dry_run))
    for error in report.errors:
        click.echo(f"{file.name}:{error.line}: {error.message}")
    if report.errors_total > len(report.errors):
        click.echo(f"... and {report.errors_total - len(report.errors)} more error(s)")
    click.echo(("dry run: " if dry_run and report.ok else "") + report.summary())
    sys.exit(0 if report.ok else 1)


@main.command("export", help="Export items, barcodes, locations (the import formats), stock or movements as CSV.")
@click.argument("kind", type=click.Choice(["items", "barcodes", "locations", "stock", "movements"]))
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: standard output).")
def export(kind: str, output: str | None) -> None:
    from backend.domain import imports

    async def write(out: Any) -> None:
        async for chunk in imports.export_csv(kind):  # type: ignore[arg-type]
            out.write(chunk)

    if output is None:
        _with_db(lambda: write(sys.stdout))
        return
    with open(output, "w", newline="", encoding="utf-8") as out:
        _with_db(lambda: write(out))


@main.group(help="Floor users (badge code + PIN).")
def user() -> None:
    pass


@user.command("create", help="Create a floor user; the PIN is asked for, never echoed.")
@click.option("--code", required=True, help="Badge code printed on the user's badge.")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["picker", "receiver", "counter", "lead", "manager", "admin"]))
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True, help="4–8 digits.")
def user_create(code: str, name: str, role: str, pin: str) -> None:
    from backend.domain.auth.audit import Actor
    from backend.domain.auth.users import create_user

    created = _with_db(lambda: create_user(code, name, role, pin, Actor("system:cli")))
    click.echo(f"created {created.code} ({created.role})")


@main.group(help="API tokens for integrations.")
def token() -> None:
    pass


@token.command("create", help="Create an API token and print it (shown once).")
@click.option("--name", required=True, help="Who uses the token, e.g. 'shopify-sync'.")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
def token_create(name: str, scope: str) -> None:
    from backend.domain.auth.tokens import create_token

    click.echo(_with_db(lambda: create_token(name, scope)))


@main.group(help="Handhelds the server enrolled (at their first online sign-in).")
def device() -> None:
    pass


@device.command("list", help="Enrolled scanners, most recently signed in first.")
def device_list() -> None:
    from backend.domain.auth.devices import list_devices

    for d in _with_db(list_devices):
        status = f"revoked {d.revoked_at} by {d.revoked_by}" if d.revoked_at else "active"
        click.echo(f"{d.id}  enrolled {d.enrolled_at}  last sign-in {d.last_sign_in_at}  {status}")


@device.command("revoke", help="Sign a lost or retired scanner out for good; its unsent scans are refused.")
@click.argument("device_id")
def device_revoke(device_id: str) -> None:
    from backend.domain.auth.audit import Actor
    from backend.domain.auth.devices import revoke
    from backend.domain.errors import DomainError

    try:
        revoked = _with_db(lambda: revoke(device_id, Actor("system:cli")))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"revoked {revoked.id}")


from backend.cli_channels import channel  # noqa: E402 - registered last, after main exists
from backend.cli_jobs import jobs  # noqa: E402
from backend.cli_replenish import replenish  # noqa: E402

main.add_command(channel)
main.add_command(jobs)
main.add_command(replenish)
