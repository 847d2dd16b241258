"""backend/db.py returns pooled PostgreSQL connections without asyncpg's session reset (a round trip
per statement). That is only safe while no code leaves session state on a connection."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSION_STATE = re.compile(
    r"pg_(try_)?advisory_lock(_shared)?\s*\(|\bLISTEN\b|\bDECLARE\b.*\bCURSOR\b|set_config\s*\(|"
    r"[\"']\s*SET\s+(SESSION\s+)?[a-z_.]+\s*(=|TO\b)|\bCREATE\s+TEMP(ORARY)?\s+TABLE\b|\bPREPARE\s+\w+\s+AS\b",
    re.IGNORECASE,
)


def test_no_code_leaves_session_state_on_a_pooled_connection():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("backend", "jobs", "sync")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if SESSION_STATE.search(line)
    ]
    assert offenders == [], "session state would leak between requests (see db._keep_session_state):\n" + "\n".join(
        offenders)


def test_the_pattern_catches_session_level_statements():
    for sql in ('"SELECT pg_advisory_lock(1)"', '"LISTEN stock"', '"SET statement_timeout = 5"',
                '"SET SESSION search_path TO x"', '"CREATE TEMP TABLE t (id int)"'):
        assert SESSION_STATE.search(sql), sql
    for sql in ('"SELECT pg_advisory_xact_lock(1)"', '"UPDATE users SET failed_attempts = 0"',
                '"SET LOCAL lock_timeout = 1"'):
        assert not SESSION_STATE.search(sql), sql
