"""Settings that production refuses: PostgreSQL without STOCKLINE_SECRET."""

from __future__ import annotations

import pytest

from backend.http.app import create_app
from backend.settings import MissingSecret, Settings

PG_URL = "postgresql://stockline@db.example/stockline"


def test_postgres_without_a_secret_refuses_to_start():
    with pytest.raises(MissingSecret, match="STOCKLINE_SECRET must be set"):
        create_app(Settings(database_url=PG_URL), run_jobs=False)


def test_postgres_with_a_secret_uses_it():
    assert Settings(database_url=PG_URL, secret="s3cret").csrf_secret() == "s3cret"


def test_the_sqlite_demo_generates_its_secret_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/demo.db")
    first = settings.csrf_secret()
    assert len(first) >= 32 and settings.csrf_secret() == first
    assert (tmp_path / "var" / "secret").read_text().strip() == first
