"""The type checker and the linter are part of the suite: a type error or a lint fails the README's test
command (and CI) like a failing test. Both read their configuration from pyproject.toml
([tool.mypy], [tool.ruff]) and run from this environment, as a developer runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MYPY_TIMEOUT_S = 900  # a cold run on a busy two-core machine; a warm one takes seconds
RUFF_TIMEOUT_S = 120


def _run(tool: str, *args: str, timeout_s: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout_s, check=False)


def test_mypy_strict_finds_no_errors_in_backend_sync_and_jobs():
    # One run over the files [tool.mypy] names (backend, sync, jobs); its cache makes the next one fast.
    result = _run("mypy", timeout_s=MYPY_TIMEOUT_S)
    assert result.returncode == 0, f"mypy --strict (pyproject.toml):\n{result.stdout}{result.stderr}"


def test_ruff_finds_nothing_to_fix():
    result = _run("ruff", "check", "--no-cache", "--output-format=concise", ".", timeout_s=RUFF_TIMEOUT_S)
    assert result.returncode == 0, f"ruff check (pyproject.toml):\n{result.stdout}{result.stderr}"
