from piccolo.columns import BigInt, BigSerial, Integer, Text, Timestamptz
from piccolo.table import Table

# The orders themselves are `orders` / `order_lines` (backend/domain/fulfillment/tables.py): one table
# for manual, API and channel orders, so pick lists, cartons and shipments work on all of them.


class OrderAllocation(Table, tablename="order_allocations"):
    """Why a line's units went where they went (or were backordered): one row per decision."""

    id = BigSerial(primary_key=True)
    order_id = BigInt()
    line_no = Integer()
    warehouse_id = BigInt(null=True, default=None)
    qty = BigInt()
    reason = Text()
    created_at = Timestamptz()


class OrderHold(Table, tablename="order_holds"):
    id = BigSerial(primary_key=True)
    order_id = BigInt()
    reason = Text()  # payment_not_captured | address_incomplete | value_over_threshold | manual
    detail = Text(default="")
    created_by = Text()
    created_at = Timestamptz()
    released_at = Timestamptz(null=True, default=None)
    released_by = Text(default="")
    release_note = Text(default="")


class UnmappedOrderLine(Table, tablename="unmapped_order_lines"):
    id = BigSerial(primary_key=True)
    order_id = BigInt()
    channel_id = BigInt()
    line_no = Integer()
    channel_sku = Text(default="")
    variant_ref = Text(default="")
    product_ref = Text(default="")
    qty = BigInt()
    price_cents = BigInt(default=0)
    channel_line_ref = Text(default="")
    created_at = Timestamptz()


class OrderRefund(Table, tablename="order_refunds"):
    id = BigSerial(primary_key=True)
    order_id = BigInt()
    external_id = Text()
    amount_cents = BigInt(default=0)
    lines = Text(default="[]")
    order_status = Text()
    created_at = Timestamptz()


class Wave(Table, tablename="waves"):
    id = BigSerial(primary_key=True)
    warehouse_id = BigInt()
    carrier = Text(default="")
    cutoff_at = Timestamptz(null=True, default=None)
    orders = Integer()
    create_key = Text()
    created_at = Timestamptz()
