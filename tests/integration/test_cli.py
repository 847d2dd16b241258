"""The `stockline` console script as an operator runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend import db
from tests.factories import item, receive, warehouse

SUBCOMMANDS = [[], ["serve"], ["worker"], ["demo"], ["migrate"], ["check"], ["compact-commands"], ["token"],
               ["token", "create"]]


def stockline(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STOCKLINE_DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "backend", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a) or "stockline")
def test_every_command_has_help(args, tmp_path):
    from backend.settings import Settings

    result = stockline(Settings(database_url=f"sqlite:///{tmp_path}/x.db"), *args, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


async def test_migrate_is_safe_twice(empty_db):
    first = stockline(empty_db, "migrate")
    second = stockline(empty_db, "migrate")
    from backend.migrations import available

    assert first.returncode == 0 and f"applied {len(available())} migration" in first.stdout
    assert second.returncode == 0 and "applied 0 migration" in second.stdout


async def test_check_is_clean_then_reports_drift(ledger_db):
    b1, *_ = await warehouse()
    await item("MUG")
    await receive("MUG", 5, b1)
    clean = stockline(ledger_db, "check")
    assert clean.returncode == 0 and "0 drift" in clean.stdout
    await db.fetch("UPDATE balances SET on_hand = on_hand + 1")  # someone edits the table behind the ledger
    drift = stockline(ledger_db, "check")
    assert drift.returncode == 1 and "on_hand is 6 but the ledger says 5" in drift.stdout
    await db.fetch("UPDATE balances SET on_hand = on_hand - 1")


async def test_token_create_prints_a_working_token(ledger_db):
    from backend.domain.auth.tokens import verify_token

    result = stockline(ledger_db, "token", "create", "--name", "shop-sync", "--scope", "write")
    assert result.returncode == 0
    token = await verify_token(result.stdout.strip())
    assert token is not None and (token.name, token.scope) == ("shop-sync", "write")
    assert stockline(ledger_db, "token", "create", "--name", "x", "--scope", "admin").returncode == 2


async def test_a_lost_handheld_is_revoked_from_the_command_line(ledger_db):
    from backend.domain.auth.devices import enroll, list_devices

    lost = await enroll()
    listed = stockline(ledger_db, "device", "list")
    assert listed.returncode == 0 and f"{lost.device_id}" in listed.stdout and "active" in listed.stdout
    revoked = stockline(ledger_db, "device", "revoke", lost.device_id)
    assert revoked.returncode == 0 and f"revoked {lost.device_id}" in revoked.stdout
    assert [d.revoked_by for d in await list_devices()] == ["system:cli"]
    unknown = stockline(ledger_db, "device", "revoke", "hh-nobody")
    assert unknown.returncode == 1 and "No scanner hh-nobody" in unknown.stderr
