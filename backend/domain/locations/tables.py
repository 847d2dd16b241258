from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text
from piccolo.table import Table


class Location(Table, tablename="locations"):
    id = BigSerial(primary_key=True)
    code = Text()
    code_key = Text(unique=True)
    barcode = Text(unique=True)
    name = Text(default="")
    kind = Text()
    parent_id = BigInt(null=True, default=None)
    warehouse_id = BigInt(null=True, default=None)
    walk_seq = Integer(default=0)
    active = Boolean(default=True)
