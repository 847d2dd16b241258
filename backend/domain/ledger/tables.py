from piccolo.columns import BigInt, BigSerial, Date, Text, Timestamptz
from piccolo.table import Table


class CommandLog(Table, tablename="command_log"):
    key = Text(primary_key=True)
    kind = Text()
    payload_hash = Text()
    result = Text(default="")
    actor = Text()
    created_at = Timestamptz()


class Movement(Table, tablename="movements"):
    """Append-only: the database refuses UPDATE and DELETE; never call .update()/.delete()."""

    id = BigSerial(primary_key=True)
    idempotency_key = Text(unique=True)
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
