from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table


class ChannelConnection(Table, tablename="channel_connections"):
    """How Stockline reaches a channel's API and what it offers there (backend/domain/channel_sync)."""

    channel_id = BigInt(primary_key=True)
    api_url = Text()
    api_key = Text(default="")
    api_secret = Text(default="")
    location_ref = Text(default="")
    requests_per_s = Integer(default=2)
    buffer_units = BigInt(default=0)
    buffer_pct = Integer(default=0)
    share_pct = Integer(default=100)
    push_stock = Boolean(default=True)
    confirm_shipments = Boolean(default=True)
    lease_owner = Text(default="")
    lease_until = Timestamptz(null=True, default=None)
    listed_at = Timestamptz(null=True, default=None)
    pushed_at = Timestamptz(null=True, default=None)
    checked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ChannelListing(Table, tablename="channel_listings"):
    id = BigSerial(primary_key=True)
    channel_id = BigInt()
    remote_id = Text()
    channel_sku = Text(default="")
    sku_key = Text(default="")
    variant_ref = Text(default="")
    item_id = BigInt(null=True, default=None)
    channel_qty = BigInt(null=True, default=None)
    pushed_qty = BigInt(null=True, default=None)
    pushed_at = Timestamptz(null=True, default=None)
    read_qty = BigInt(null=True, default=None)
    read_at = Timestamptz(null=True, default=None)
    problem = Text(default="")


class ChannelConfirmation(Table, tablename="channel_confirmations"):
    shipment_id = BigInt(primary_key=True)
    channel_id = BigInt()
    order_id = BigInt()
    status = Text()  # pending | accepted
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Text(default="")
    remote_ref = Text(default="")
    created_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
