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


@pytest.mark.parametrize(("url", "env", "secure"), [
    (PG_URL, None, True),  # production: Secure unless told otherwise
    (PG_URL, "false", False),  # an operator's plain-HTTP set-up
    ("sqlite:///var/stockline.db", None, False),  # the demo on http://localhost
    ("sqlite:///var/stockline.db", "true", True),
])
def test_cookies_are_secure_in_production_by_default(monkeypatch, url, env, secure):
    monkeypatch.setenv("STOCKLINE_DATABASE_URL", url)
    if env is None:
        monkeypatch.delenv("STOCKLINE_SECURE_COOKIES", raising=False)
    else:
        monkeypatch.setenv("STOCKLINE_SECURE_COOKIES", env)
    assert Settings.from_env().cookies_secure is secure


def test_a_secure_cookies_setting_that_is_not_yes_or_no_is_refused(monkeypatch):
    monkeypatch.setenv("STOCKLINE_SECURE_COOKIES", "maybe")
    with pytest.raises(ValueError, match="STOCKLINE_SECURE_COOKIES must be true or false"):
        Settings.from_env()
