"""command_log has one owner: backend/domain/idempotency.py. Any other module that writes (or reads)
the table in SQL, or through its Piccolo table, fails here, so a new command cannot grow its own
idempotency again. The exceptions are the ledger's one-statement postings on PostgreSQL (migration m0012's
`stockline_post`, m0017's `stockline_settle_count`, m0019's `stockline_post_legs`), which claim a key inside
their own statement by the module's rules."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("backend", "sync", "jobs")
OWNER = Path("backend/domain/idempotency.py")
FAST_PATH = Path("backend/migrations/m0012_ledger_one_round_trip.py")
COUNT_FAST_PATH = Path("backend/migrations/m0017_count_settle_on_server.py")
LEGS_FAST_PATH = Path("backend/migrations/m0019_post_legs_together.py")
_SQL_USE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|FROM|JOIN|TRUNCATE(\s+TABLE)?)\s+command_log\b",
                      re.IGNORECASE)
_TABLE_USE = re.compile(r"\bCommandLog\s*\.\s*(insert|update|delete|select|objects|raw|count|exists)\b")


def _uses() -> dict[Path, list[str]]:
    found: dict[Path, list[str]] = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            hits = [m.group(0) for m in _SQL_USE.finditer(text)] + [m.group(0) for m in _TABLE_USE.finditer(text)]
            if hits:
                found[path.relative_to(ROOT)] = hits
    return found


def test_only_the_idempotency_module_and_the_ledgers_fast_path_touch_command_log() -> None:
    outside = {str(path): hits for path, hits in _uses().items() if path not in (OWNER, FAST_PATH, COUNT_FAST_PATH,
                                                                                  LEGS_FAST_PATH)}
    assert outside == {}, f"command_log is backend/domain/idempotency.py's: go through it ({outside})"


def test_the_scan_sees_the_writes_it_guards_against() -> None:
    uses = _uses()
    owner = " ".join(uses.get(OWNER, [])).upper()
    assert "INSERT INTO COMMAND_LOG" in owner and "UPDATE COMMAND_LOG" in owner
    assert any(hit.upper().startswith("INSERT INTO") for hit in uses.get(FAST_PATH, []))
    assert any(hit.upper().startswith("INSERT INTO") for hit in uses.get(COUNT_FAST_PATH, []))
    # A write split over lines and written in lower case is still seen.
    assert _SQL_USE.search('"update\n   command_log set result = {}"')
    assert _SQL_USE.search("CommandLog") is None and _TABLE_USE.search("CommandLog.update({...})")
