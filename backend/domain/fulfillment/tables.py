from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table


class Order(Table, tablename="orders"):
    id = BigSerial(primary_key=True)
    order_ref = Text()
    ref_key = Text(unique=True)
    channel = Text(default="manual")
    external_ref = Text(default="")
    warehouse_id = BigInt()
    status = Text(default="imported")  # the lifecycle of backend/domain/orders/_transitions.py
    create_key = Text(unique=True)
    created_at = Timestamptz()
    channel_id = BigInt(null=True, default=None)
    source_version = BigInt(default=0)
    ship_country = Text(default="")
    ship_postcode = Text(default="")
    payment = Text(default="captured")
    total_cents = BigInt(default=0)
    carrier = Text(default="")
    promised_at = Timestamptz(null=True, default=None)
    alloc_seq = Integer(default=0)
    warehouse_pinned = Boolean(default=False)  # ships only from warehouse_id (manual orders)


class OrderLine(Table, tablename="order_lines"):
    id = BigSerial(primary_key=True)
    order_id = BigInt()
    line_no = Integer()
    item_id = BigInt()
    qty = BigInt()
    backordered_qty = BigInt(default=0)
    picked_qty = BigInt(default=0)
    short_qty = BigInt(default=0)
    packed_qty = BigInt(default=0)
    shipped_qty = BigInt(default=0)
    dropship = Boolean(default=False)
    channel_line_ref = Text(default="")
    price_cents = BigInt(default=0)


class OrderReservation(Table, tablename="order_reservations"):
    id = BigSerial(primary_key=True)
    order_line_id = BigInt()
    reservation_id = BigInt(unique=True)


class PickList(Table, tablename="pick_lists"):
    id = BigSerial(primary_key=True)
    warehouse_id = BigInt()
    status = Text(default="open")
    create_key = Text(unique=True)
    created_at = Timestamptz()
    wave_id = BigInt(null=True, default=None)


class PickListLine(Table, tablename="pick_list_lines"):
    id = BigSerial(primary_key=True)
    pick_list_id = BigInt()
    seq = Integer()
    order_line_id = BigInt()
    reservation_id = BigInt(unique=True)
    item_id = BigInt()
    location_id = BigInt()
    lot = Text(default="")
    qty = BigInt()
    picked_qty = BigInt(default=0)
    short_qty = BigInt(default=0)
    short_reason = Text(default="")
    status = Text(default="open")
    shorted_at = Timestamptz(null=True, default=None)


class Carton(Table, tablename="cartons"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    order_id = BigInt()
    status = Text(default="open")
    shipment_id = BigInt(null=True, default=None)
    create_key = Text(unique=True)
    created_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    warehouse_id = BigInt(null=True, default=None)  # where its picked stock waits (staging)


class CartonLine(Table, tablename="carton_lines"):
    id = BigSerial(primary_key=True)
    carton_id = BigInt()
    order_line_id = BigInt()
    lot = Text(default="")
    qty = BigInt()


class Shipment(Table, tablename="shipments"):
    id = BigSerial(primary_key=True)
    order_id = BigInt()
    carrier = Text()
    tracking = Text()
    create_key = Text(unique=True)
    created_at = Timestamptz()
