from piccolo.columns import BigInt, BigSerial, Boolean, Text, Timestamptz
from piccolo.table import Table


class CountTask(Table, tablename="count_tasks"):
    id = BigSerial(primary_key=True)
    command_key = Text(unique=True)
    bin_id = BigInt()
    item_id = BigInt(null=True, default=None)
    reason = Text()
    status = Text()
    recount_of = BigInt(null=True, default=None)
    created_by = Text()
    created_at = Timestamptz()
    started_by = Text(default="")
    started_by_user_id = BigInt(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    started_after_movement_id = BigInt(null=True, default=None)
    submitted_by = Text(default="")
    submitted_by_user_id = BigInt(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    decided_by = Text(default="")
    decided_by_user_id = BigInt(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")


class CountSnapshot(Table, tablename="count_snapshot"):
    """On-hand per (item, lot) in the bin when the count started. Never shown to the counter.

    A record of the bin at start ("at start" in the approvals queue); it decides which items
    count as not found at submit but never the size of a correction (that is count_lines.expected_qty).
    """

    id = BigSerial(primary_key=True)
    task_id = BigInt()
    item_id = BigInt()
    lot = Text(default="")
    expected_qty = BigInt()


class CountEntry(Table, tablename="count_entries"):
    """Every scan the counters made, as entered (append-only history of the count)."""

    id = BigSerial(primary_key=True)
    command_key = Text(unique=True)
    task_id = BigInt()
    item_id = BigInt()
    lot = Text(default="")
    qty = BigInt()
    mode = Text()
    counted_by = Text()
    counted_by_user_id = BigInt(null=True, default=None)
    device = Text(default="")
    created_at = Timestamptz()


class CountLine(Table, tablename="count_lines"):
    id = BigSerial(primary_key=True)
    task_id = BigInt()
    item_id = BigInt()
    lot = Text(default="")
    counted_qty = BigInt()
    # On-hand of (item, bin, lot) when the count of this item started (its first scan), or at
    # submit for a snapshot item nobody scanned. The variance is counted_qty − expected_qty.
    expected_qty = BigInt(null=True, default=None)
    entered = Boolean()
    counted_at = Timestamptz(null=True, default=None)
    variance = BigInt(null=True, default=None)
    value_cents = BigInt(null=True, default=None)
    status = Text()
    review_reason = Text(default="")
    ledger_key = Text(null=True, default=None)


class AdjustmentRequest(Table, tablename="adjustment_requests"):
    id = BigSerial(primary_key=True)
    command_key = Text(unique=True)
    item_id = BigInt()
    location_id = BigInt()
    lot = Text(default="")
    delta = BigInt()
    reason = Text()
    value_cents = BigInt()
    status = Text()
    requested_by = Text()
    requested_by_user_id = BigInt(null=True, default=None)
    requested_at = Timestamptz()
    decided_by = Text(default="")
    decided_by_user_id = BigInt(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")
    ledger_key = Text(null=True, default=None)
