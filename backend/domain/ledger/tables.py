from piccolo.columns import BigInt, BigSerial, Date, Integer, Text, Timestamptz
from piccolo.table import Table


class CommandLog(Table, tablename="command_log"):
    key = Text(primary_key=True)
    kind = Text()
    payload_hash = Text()
    result = Text(default="")
    actor = Text()
    created_at = Timestamptz()
    compacted_at = Timestamptz(null=True, default=None)  # result dropped past the retry window


class Movement(Table, tablename="movements"):
    """Append-only: the database refuses UPDATE and DELETE; never call .update()/.delete()."""

    id = BigSerial(primary_key=True)
    idempotency_key = Text()  # `{command_key}#{leg}`: unique because command_log's key is
    command_key = Text()
    item_id = BigInt()
    lot = Text(default="")
    qty = BigInt()
    from_location_id = BigInt()
    to_location_id = BigInt()
    from_state = Text()
    to_state = Text()
    reason = Text()
    actor = Text()
    doc_ref = Text(default="")
    reversal_of = BigInt(null=True, default=None)
    created_at = Timestamptz()


class Balance(Table, tablename="balances"):
    id = BigSerial(primary_key=True)
    item_id = BigInt()
    location_id = BigInt()
    lot = Text(default="")
    on_hand = BigInt(default=0)
    reserved = BigInt(default=0)
    quarantined = BigInt(default=0)
    damaged = BigInt(default=0)


class Reservation(Table, tablename="reservations"):
    id = BigSerial(primary_key=True)
    command_key = Text()
    item_id = BigInt()
    location_id = BigInt()
    lot = Text(default="")
    qty = BigInt()
    open_qty = BigInt()
    status = Text()
    order_ref = Text(default="")
    expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Lot(Table, tablename="lots"):
    id = BigSerial(primary_key=True)
    item_id = BigInt()
    lot = Text()
    expiry = Date(null=True, default=None)


class LedgerCheckpoint(Table, tablename="ledger_checkpoint"):
    """One row: the check's checkpoint covers every movement up to as_of_movement_id (digest only)."""

    id = Integer(primary_key=True)
    as_of_movement_id = BigInt()
    digest = BigInt()
    rows_as_of_movement_id = BigInt(null=True, default=None)  # None while --full rebuilds the rows
    rows_digest = BigInt()
    rows_generation = BigInt()
    rebuilt_at = Timestamptz()
    advanced_at = Timestamptz()


class LedgerCheckpointBalance(Table, tablename="ledger_checkpoint_balances"):
    """Stock summed from movements up to rows_as_of_movement_id (derived; `stockline check --full`
    rebuilds it). The migration's primary key is (item_id, location_id, lot); Piccolo declares one."""

    item_id = BigInt(primary_key=True)
    location_id = BigInt()
    lot = Text()
    on_hand = BigInt()
    quarantined = BigInt()
    damaged = BigInt()


class CommandLogCompaction(Table, tablename="command_log_compaction"):
    id = Integer(primary_key=True)
    compacted_before = Timestamptz()
    updated_at = Timestamptz()
