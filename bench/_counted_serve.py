"""`python -m backend serve ...` with every statement the server sends to PostgreSQL counted (asyncpg's
Connection wrapped, as the in-process benches do). On SIGUSR1 it writes the count so far to the file
named by STOCKLINE_BENCH_STATEMENTS_FILE, so a bench reads it before and after a phase.

Started by `_common.start_server(..., statements_file=...)`; not part of Stockline."""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Statements  # after the path set-up above

Statements.install()
_target = Path(os.environ["STOCKLINE_BENCH_STATEMENTS_FILE"])


def _write_count(_signum: int, _frame: object) -> None:
    partial = _target.with_suffix(".partial")
    partial.write_text(str(Statements.count))
    partial.replace(_target)  # the reader sees the whole number or no file


signal.signal(signal.SIGUSR1, _write_count)
sys.argv = ["backend", *sys.argv[1:]]
runpy.run_module("backend", run_name="__main__", alter_sys=True)
