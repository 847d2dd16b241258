"""A second `bash scripts/demo` serves its first page within a few seconds: scripts/install does nothing
when the environment already matches pyproject.toml, and the demo is seeded once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
INSTALL_NOOP_S_MAX = 2.0
# Measured on 2 cores: ~2 s to the first page (8 s while other test runs load the machine to 9),
# 2.3 s of CPU; reinstalling every time took 19-21 s and 4.8 s of CPU. CPU time does not depend on the
# machine's load, so it is the sharp limit; the wall-clock one only catches a hang.
SECOND_DEMO_CPU_S_MAX = 4.0
SECOND_DEMO_FIRST_PAGE_S_MAX = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_s(pid: int) -> float:
    """User + system CPU of a process and its waited-for children (utime, stime, cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(t) for t in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def test_install_does_nothing_when_the_environment_matches():
    subprocess.run(["bash", "scripts/install"], cwd=ROOT, check=True, timeout=600)  # may install, once
    python = ROOT / ".venv" / "bin" / "python"
    before = python.stat().st_mtime_ns, (ROOT / ".venv" / ".stockline-installed").read_text()
    started = time.monotonic()
    subprocess.run(["bash", "scripts/install"], cwd=ROOT, check=True, timeout=600)
    assert time.monotonic() - started < INSTALL_NOOP_S_MAX
    assert (python.stat().st_mtime_ns, (ROOT / ".venv" / ".stockline-installed").read_text()) == before


def test_a_second_demo_serves_its_first_page_within_seconds(tmp_path):
    env = {**os.environ, "STOCKLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    env.pop("STOCKLINE_REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "backend", "demo", "--no-serve"], env=env, check=True, timeout=600,
                   capture_output=True)  # the first run seeds
    subprocess.run(["bash", "scripts/install"], cwd=ROOT, check=True, timeout=600)
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
        cpu_s = _cpu_s(demo.pid)  # scripts/demo execs stockline: the same process, install's CPU in its children
        assert cpu_s < SECOND_DEMO_CPU_S_MAX, f"{cpu_s:.1f} s of CPU before the first page"
    finally:
        demo.terminate()
        demo.wait(timeout=15)
    assert "Stockline demo: http://" in log.read_text()
