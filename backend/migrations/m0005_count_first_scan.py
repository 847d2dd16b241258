"""Cycle counts: each count line keeps the expected on-hand captured at the first scan of its item.

The variance of a line is `counted − expected_qty` (see backend/domain/counts/_settle.py). Lines
written before this migration were settled against the start snapshot, so they are backfilled
with it: their stored expected is the one their variance was (or will be) computed from.
"""

NAME = "count_first_scan"

_STATEMENTS = """
ALTER TABLE count_lines ADD COLUMN expected_qty BIGINT NULL CHECK (expected_qty >= 0)
;;
UPDATE count_lines SET expected_qty = COALESCE((SELECT s.expected_qty FROM count_snapshot s
  WHERE s.task_id = count_lines.task_id AND s.item_id = count_lines.item_id AND s.lot = count_lines.lot), 0)
"""


def statements(dialect: str) -> list[str]:
    return [s.strip() for s in _STATEMENTS.split(";;")]
