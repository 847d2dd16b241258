from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table


class Channel(Table, tablename="channels"):
    id = BigSerial(primary_key=True)
    slug = Text(unique=True)
    kind = Text()  # shopify | woocommerce | generic
    name = Text()
    secret = Text()
    priority = Integer(default=100)  # lower is served first
    allow_split = Boolean(default=True)
    auto_release = Boolean(default=True)
    hold_value_over_cents = BigInt(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz()


class ChannelWarehouse(Table, tablename="channel_warehouses"):
    channel_id = BigInt(primary_key=True)  # (channel_id, warehouse_id) in the migration
    warehouse_id = BigInt()
    rank = Integer()


class ChannelSkuMapping(Table, tablename="channel_sku_mappings"):
    id = BigSerial(primary_key=True)
    channel_id = BigInt()
    channel_ref = Text()  # the channel's SKU, or variant:<id> / product:<id>
    item_id = BigInt()
    dropship = Boolean(default=False)
    updated_at = Timestamptz()


class WarehouseRegion(Table, tablename="warehouse_regions"):
    id = BigSerial(primary_key=True)
    warehouse_id = BigInt()
    country = Text()
    postcode_prefix = Text(default="")
    rank = Integer()  # lower is nearer


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    id = BigSerial(primary_key=True)
    channel_id = BigInt()
    delivery_id = Text()
    topic = Text(default="")
    external_order_id = Text(default="")
    source_version = BigInt(default=0)
    status = Text()  # pending | applied | stale | waiting | rejected | failed
    reason = Text(default="")
    payload = Text(default="")
    body_excerpt = Text(default="")
    body_bytes = Integer(default=0)
    order_id = BigInt(null=True, default=None)
    received_at = Timestamptz()
    processed_at = Timestamptz(null=True, default=None)
