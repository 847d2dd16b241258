"""A second `bash scripts/demo` serves its first page at once: scripts/install does nothing when the
environment already matches pyproject.toml, and the demo is seeded once. What is checked is that nothing
is installed or seeded again (how fast that is depends on the machine: bench territory, not a test's);
the time limits only catch a hang."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
INSTALL_NOOP_S_MAX = 15.0  # a hang; doing nothing takes well under a second
SECOND_DEMO_FIRST_PAGE_S_MAX = 30.0  # a hang; the first page comes after importing the app, a few seconds

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seeded_rows(db_file: Path) -> list[int]:
    """What the demo's seed wrote: movements, items and command_log rows."""
    with sqlite3.connect(db_file) as conn:
        return [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("movements", "items", "command_log")]


def test_install_does_nothing_when_the_environment_matches():
    subprocess.run(["bash", "scripts/install"], cwd=ROOT, check=True, timeout=600)  # may install, once
    python = ROOT / ".venv" / "bin" / "python"
    before = python.stat().st_mtime_ns, (ROOT / ".venv" / ".stockline-installed").read_text()
    started = time.monotonic()
    subprocess.run(["bash", "scripts/install"], cwd=ROOT, check=True, timeout=600)
    assert time.monotonic() - started < INSTALL_NOOP_S_MAX
    assert (python.stat().st_mtime_ns, (ROOT / ".venv" / ".stockline-installed").read_text()) == before


def test_a_second_demo_installs_and_seeds_nothing_again(tmp_path):
    db_file = tmp_path / "demo.db"
    env = {**os.environ, "STOCKLINE_DATABASE_URL": f"sqlite:///{db_file}"}
    env.pop("STOCKLINE_REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "backend", "demo", "--no-serve"], env=env, check=True, timeout=600,
                   capture_output=True)  # the first run seeds
    subprocess.run(["bash", "scripts/install"], cwd=ROOT, check=True, timeout=600)
    seeded = _seeded_rows(db_file)
    assert seeded[0] > 0 and seeded[1] > 0
    stamp = ROOT / ".venv" / ".stockline-installed"
    installed = stamp.stat().st_mtime_ns, (ROOT / ".venv" / "bin" / "python").stat().st_mtime_ns
    port, log = _free_port(), tmp_path / "demo.log"
    started = time.monotonic()
    with open(log, "w") as out:
        demo = subprocess.Popen(["bash", "scripts/demo", "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/signin", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() - started < SECOND_DEMO_FIRST_PAGE_S_MAX, log.read_text()
            time.sleep(0.1)
        assert _seeded_rows(db_file) == seeded  # nothing seeded again
        assert (stamp.stat().st_mtime_ns, (ROOT / ".venv" / "bin" / "python").stat().st_mtime_ns) == installed
    finally:
        demo.terminate()
        demo.wait(timeout=15)
    assert "Stockline demo: http://" in log.read_text()
