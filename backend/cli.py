"""`stockline` console script: serve | worker | demo | migrate | check | token create."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from backend import db
from backend.settings import Settings

T = TypeVar("T")


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

    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level, access_log=False)


@click.group(help="Stockline: inventory and fulfillment on one append-only ledger.")
def main() -> None:
    pass


@main.command(help="Bring the database to the current schema (safe to run twice).")
def migrate() -> None:
    from backend.migrations import migrate as run_migrations

    applied = _with_db(run_migrations)
    click.echo(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d} {m.name}" for m in applied))


@main.command(help="Recompute every balance from the ledger; exit 1 listing any drift.")
def check() -> None:
    from backend.domain.ledger.check import check_ledger

    drifts = _with_db(check_ledger)
    for d in drifts:
        click.echo(f"DRIFT {d}")
    click.echo(f"ledger check: {len(drifts)} drift(s)")
    sys.exit(1 if drifts else 0)


@main.command(help="Serve the web app and API.")
@click.option("--host", default=None, help="Bind address (default STOCKLINE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default STOCKLINE_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    settings = Settings.from_env()
    _serve(settings, host or settings.host, port or settings.port)


@main.command(help="Run the background job worker (arq; needs STOCKLINE_REDIS_URL).")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
def worker(burst: bool) -> None:
    from arq.worker import run_worker

    from jobs.worker import worker_settings

    run_worker(worker_settings(Settings.from_env(), burst=burst))  # type: ignore[arg-type]


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
