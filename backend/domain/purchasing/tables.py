"""Piccolo tables of purchasing (schema in backend/migrations/m0014_purchasing.py)."""

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table


class Supplier(Table, tablename="suppliers"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    name = Text()
    currency = Text()  # ISO 4217
    lead_time_days = Integer(default=0)
    moq = BigInt(default=1)
    case_pack = BigInt(default=1)
    email = Text(default="")
    note = Text(default="")
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SupplierItem(Table, tablename="supplier_items"):
    id = BigSerial(primary_key=True)
    supplier_id = BigInt()
    item_id = BigInt()
    supplier_sku = Text(default="")
    unit_cost_minor = BigInt(default=0)
    moq = BigInt(null=True, default=None)
    case_pack = BigInt(null=True, default=None)
    lead_time_days = Integer(null=True, default=None)
    preferred = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PurchaseOrder(Table, tablename="purchase_orders"):
    id = BigSerial(primary_key=True)
    number = Text(unique=True)
    supplier_id = BigInt()
    warehouse_id = BigInt()
    status = Text()  # see _status.py
    currency = Text()
    created_at = Timestamptz()
    updated_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    expected_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    created_by = Text(default="")
    note = Text(default="")


class PurchaseOrderLine(Table, tablename="purchase_order_lines"):
    id = BigSerial(primary_key=True)
    purchase_order_id = BigInt()
    item_id = BigInt()
    qty_ordered = BigInt()
    unit_cost_minor = BigInt(default=0)
