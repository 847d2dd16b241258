"""The handheld's scan and quantity limits come from the environment, like every setting."""

from __future__ import annotations

from backend.settings import Settings


def test_scan_and_quantity_limits_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("STOCKLINE_SCAN_KEY_GAP_MS", "35")
    monkeypatch.setenv("STOCKLINE_SCAN_QTY_MAX", "500")
    monkeypatch.setenv("STOCKLINE_LINE_QTY_MAX", "2000")
    monkeypatch.setenv("STOCKLINE_CONFIRM_QTY_OVER", "100")
    monkeypatch.setenv("STOCKLINE_APPROVAL_CONFIRM_VALUE_CENTS", "25000")
    s = Settings.from_env()
    assert (s.scan_key_gap_ms, s.scan_qty_max, s.line_qty_max, s.confirm_qty_over,
            s.approval_confirm_value_cents) == (35, 500, 2000, 100, 25000)


def test_the_defaults_let_a_wedge_scanner_through_and_question_big_quantities():
    s = Settings()
    assert s.scan_key_gap_ms == 50
    assert s.confirm_qty_over < s.line_qty_max
    assert s.scan_qty_max <= s.line_qty_max
