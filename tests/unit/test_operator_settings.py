"""Operator settings read from the environment: web processes, log format, metrics."""

from __future__ import annotations

import pytest

from backend.settings import Settings


def test_defaults_are_one_process_text_logs_and_no_metrics(monkeypatch):
    for name in ("STOCKLINE_WEB_WORKERS", "STOCKLINE_LOG_FORMAT", "STOCKLINE_METRICS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert (settings.web_workers, settings.log_format, settings.metrics_enabled) == (1, "text", False)


def test_operators_turn_them_on(monkeypatch):
    monkeypatch.setenv("STOCKLINE_WEB_WORKERS", "4")
    monkeypatch.setenv("STOCKLINE_LOG_FORMAT", "JSON")
    monkeypatch.setenv("STOCKLINE_METRICS", "true")
    monkeypatch.setenv("STOCKLINE_WORKER_METRICS_PORT", "9200")
    settings = Settings.from_env()
    assert (settings.web_workers, settings.log_format, settings.metrics_enabled, settings.worker_metrics_port) == (
        4, "json", True, 9200)


@pytest.mark.parametrize(("name", "value", "words"), [
    ("STOCKLINE_WEB_WORKERS", "0", "STOCKLINE_WEB_WORKERS must be 1–64"),
    ("STOCKLINE_WEB_WORKERS", "two", "must be an integer"),
    ("STOCKLINE_LOG_FORMAT", "xml", "STOCKLINE_LOG_FORMAT must be one of text, json"),
    ("STOCKLINE_METRICS", "maybe", "STOCKLINE_METRICS must be true or false"),
])
def test_a_wrong_value_is_refused_with_its_name(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=words):
        Settings.from_env()
