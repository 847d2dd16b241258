"""Cycle counts, blind counts, variance approval and manual adjustment requests.

A count line's variance is counted − the on-hand captured at the first scan of that item (and
lot), posted against the balance at submit or approval; snapshot items nobody scanned are
written off against their on-hand at submit. The rule and its reasons: `_settle`.
"""

from backend.domain.counts._common import Thresholds
from backend.domain.counts.adjustments import (
    AdjustmentOutcome,
    approve_adjustment,
    check_adjustment,
    reject_adjustment,
    request_adjustment,
)
from backend.domain.counts.approvals import ApprovalEntry, ApprovalLine, approvals_queue, approve_count, reject_count
from backend.domain.counts.service import (
    CountedLine,
    CounterView,
    CountOutcome,
    CountTaskView,
    Mode,
    RecordedCount,
    check_count,
    check_submit,
    count_for_review,
    counter_view,
    create_count_task,
    open_count_tasks,
    record_count,
    start_count,
    submit_count,
)

__all__ = [
    "AdjustmentOutcome",
    "ApprovalEntry",
    "ApprovalLine",
    "CountOutcome",
    "CountTaskView",
    "CountedLine",
    "CounterView",
    "Mode",
    "RecordedCount",
    "Thresholds",
    "approvals_queue",
    "approve_adjustment",
    "approve_count",
    "check_adjustment",
    "check_count",
    "check_submit",
    "count_for_review",
    "counter_view",
    "create_count_task",
    "open_count_tasks",
    "record_count",
    "reject_adjustment",
    "reject_count",
    "request_adjustment",
    "start_count",
    "submit_count",
]
