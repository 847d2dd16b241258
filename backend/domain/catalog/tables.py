from piccolo.columns import BigInt, BigSerial, Boolean, Text, Timestamptz
from piccolo.table import Table


class Item(Table, tablename="items"):
    id = BigSerial(primary_key=True)
    sku = Text()
    sku_key = Text(unique=True)
    name = Text()
    base_unit = Text(default="each")
    active = Boolean(default=True)
    parent_id = BigInt(null=True, default=None)
    variant_attrs = Text(default="{}")
    lot_tracked = Boolean(default=False)
    serial_tracked = Boolean(default=False)
    is_kit = Boolean(default=False)
    unit_cost_cents = BigInt(default=0)
    created_at = Timestamptz()


class ItemUnit(Table, tablename="item_units"):
    id = BigSerial(primary_key=True)
    item_id = BigInt()
    unit = Text()
    factor = BigInt()


class Barcode(Table, tablename="barcodes"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    item_id = BigInt()
    unit = Text()


class KitComponent(Table, tablename="kit_components"):
    id = BigSerial(primary_key=True)
    kit_id = BigInt()
    component_id = BigInt()
    qty = BigInt()
