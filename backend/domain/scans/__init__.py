"""Handheld steps: what the worker did (codes as scanned, quantities as typed), one interpreter that
turns a step into its domain command, and the read-only check an online step gets before it is sent.

    handheld scan → step (raw) → envelope → outbox → POST /sync/txns → interpret → domain command → ledger
    online step's check = interpret + the same validation, reads only (no write transaction)
"""

from backend.domain.scans._check import (
    check_adjust,
    check_count,
    check_finish_count,
    check_move,
    check_pick,
    check_receive,
)
from backend.domain.scans._interpret import (
    Adjustment,
    Line,
    MovePlan,
    ReceiptPlan,
    add_scan,
    add_up,
    adjustment_of,
    lot_of,
    move_of,
    read_line,
    receipt_of,
    refuse_other_line,
)
from backend.domain.scans._read_ahead import CodesRead, read_ahead, reading_from
from backend.domain.scans._steps import (
    CODE_LENGTH_MAX,
    ENTRIES_MAX,
    ID_MAX,
    LEGACY_TYPES,
    STEP_TYPES,
    Adjust,
    Code,
    Count,
    DocRef,
    Entries,
    Entry,
    FinishCount,
    Id,
    Legacy,
    LegacyAdjust,
    LegacyMove,
    LegacyReceive,
    Lot,
    Move,
    Pick,
    Qty,
    Receive,
    Step,
)

__all__ = [
    "CODE_LENGTH_MAX", "ENTRIES_MAX", "ID_MAX", "LEGACY_TYPES", "STEP_TYPES", "Adjust", "Adjustment", "Code",
    "CodesRead", "Count", "DocRef", "Entries", "Entry", "FinishCount", "Id", "Legacy", "LegacyAdjust", "LegacyMove",
    "LegacyReceive", "Line", "Lot", "Move", "MovePlan", "Pick", "Qty", "ReceiptPlan", "Receive", "Step", "add_scan",
    "add_up", "adjustment_of", "check_adjust", "check_count", "check_finish_count", "check_move", "check_pick",
    "check_receive", "lot_of", "move_of", "read_ahead", "read_line", "reading_from", "receipt_of",
    "refuse_other_line",
]
