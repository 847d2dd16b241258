"""Run only as a test run of its own, by tests/e2e/test_databases.py (the file name keeps it out of the
suite's collection): it makes a database as a browser test's server would and leaves it behind, for the
run's end to drop."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.conftest import create_database, database_name

CHILD_FILE = "STOCKLINE_E2E_CHILD_DB_FILE"


def test_child_run_leaves_a_database_behind():
    name = database_name()
    create_database(name)
    Path(os.environ[CHILD_FILE]).write_text(name)
