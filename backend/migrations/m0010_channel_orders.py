"""Sales channels, webhook deliveries, and the order lifecycle on the existing `orders` table.

Orders from channels, the API and the tablet are rows of the same `orders` table, so pick lists,
cartons and shipments keep working on them. The status CHECK is widened to the lifecycle of
`backend/domain/orders/_transitions.py` (SQLite cannot alter a CHECK: the column is swapped for a
new one, its values carried over). An old `open` order had its reservations and could be put on
a pick list, so it becomes `released`.
"""

NAME = "channel_orders"

STATUSES = (
    "imported", "validated", "on_hold", "reserved", "backordered", "released", "picking", "packed",
    "partially_shipped", "shipped", "delivered", "closed", "cancelled", "returned", "refunded",
)
_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"

_TABLES = """
CREATE TABLE channels (
  id %PK%,
  slug TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('shopify','woocommerce','generic')),
  name TEXT NOT NULL,
  secret TEXT NOT NULL CHECK (secret <> ''),
  priority INTEGER NOT NULL DEFAULT 100 CHECK (priority >= 0),
  allow_split BOOLEAN NOT NULL DEFAULT TRUE,
  auto_release BOOLEAN NOT NULL DEFAULT TRUE,
  hold_value_over_cents BIGINT NOT NULL DEFAULT 0 CHECK (hold_value_over_cents >= 0),
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE TABLE channel_warehouses (
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  rank INTEGER NOT NULL CHECK (rank > 0),
  PRIMARY KEY (channel_id, warehouse_id)
)
;;
CREATE TABLE channel_sku_mappings (
  id %PK%,
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  channel_ref TEXT NOT NULL CHECK (channel_ref <> ''),
  item_id BIGINT NOT NULL REFERENCES items(id),
  dropship BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at TIMESTAMPTZ NOT NULL,
  UNIQUE (channel_id, channel_ref)
)
;;
CREATE TABLE warehouse_regions (
  id %PK%,
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  country TEXT NOT NULL CHECK (country <> ''),
  postcode_prefix TEXT NOT NULL DEFAULT '',
  rank INTEGER NOT NULL CHECK (rank >= 0),
  UNIQUE (warehouse_id, country, postcode_prefix)
)
;;
CREATE TABLE webhook_deliveries (
  id %PK%,
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  delivery_id TEXT NOT NULL,
  topic TEXT NOT NULL DEFAULT '',
  external_order_id TEXT NOT NULL DEFAULT '',
  source_version BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('pending','applied','stale','waiting','rejected','failed')),
  reason TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL DEFAULT '',
  body_excerpt TEXT NOT NULL DEFAULT '',
  body_bytes INTEGER NOT NULL DEFAULT 0,
  order_id BIGINT NULL REFERENCES orders(id),
  received_at TIMESTAMPTZ NOT NULL,
  processed_at TIMESTAMPTZ NULL,
  UNIQUE (channel_id, delivery_id)
)
;;
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, id)
;;
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (channel_id, external_order_id, source_version)
;;
CREATE TABLE waves (
  id %PK%,
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  carrier TEXT NOT NULL DEFAULT '',
  cutoff_at TIMESTAMPTZ NULL,
  orders INTEGER NOT NULL CHECK (orders > 0),
  create_key TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE INDEX waves_key ON waves (create_key)
;;
ALTER TABLE orders ADD COLUMN channel_id BIGINT NULL REFERENCES channels(id)
;;
ALTER TABLE orders ADD COLUMN source_version BIGINT NOT NULL DEFAULT 0
;;
ALTER TABLE orders ADD COLUMN ship_country TEXT NOT NULL DEFAULT ''
;;
ALTER TABLE orders ADD COLUMN ship_postcode TEXT NOT NULL DEFAULT ''
;;
ALTER TABLE orders ADD COLUMN payment TEXT NOT NULL DEFAULT 'captured' CHECK (payment IN ('captured','pending'))
;;
ALTER TABLE orders ADD COLUMN total_cents BIGINT NOT NULL DEFAULT 0 CHECK (total_cents >= 0)
;;
ALTER TABLE orders ADD COLUMN carrier TEXT NOT NULL DEFAULT ''
;;
ALTER TABLE orders ADD COLUMN promised_at TIMESTAMPTZ NULL
;;
ALTER TABLE orders ADD COLUMN alloc_seq INTEGER NOT NULL DEFAULT 0
;;
ALTER TABLE orders ADD COLUMN warehouse_pinned BOOLEAN NOT NULL DEFAULT FALSE
;;
UPDATE orders SET warehouse_pinned = TRUE
;;
CREATE INDEX orders_channel ON orders (channel_id, id)
;;
ALTER TABLE order_lines ADD COLUMN dropship BOOLEAN NOT NULL DEFAULT FALSE
;;
ALTER TABLE order_lines ADD COLUMN channel_line_ref TEXT NOT NULL DEFAULT ''
;;
ALTER TABLE order_lines ADD COLUMN price_cents BIGINT NOT NULL DEFAULT 0
;;
CREATE INDEX order_lines_backordered ON order_lines (item_id, order_id) WHERE backordered_qty > 0
;;
CREATE INDEX order_lines_order ON order_lines (order_id, line_no)
;;
ALTER TABLE cartons ADD COLUMN warehouse_id BIGINT NULL REFERENCES locations(id)
;;
UPDATE cartons SET warehouse_id = (SELECT o.warehouse_id FROM orders o WHERE o.id = cartons.order_id)
;;
ALTER TABLE pick_lists ADD COLUMN wave_id BIGINT NULL REFERENCES waves(id)
;;
CREATE INDEX order_reservations_reservation ON order_reservations (reservation_id, order_line_id)
;;
CREATE TABLE order_allocations (
  id %PK%,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  line_no INTEGER NOT NULL,
  warehouse_id BIGINT NULL REFERENCES locations(id),
  qty BIGINT NOT NULL CHECK (qty >= 0),
  reason TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE INDEX order_allocations_order ON order_allocations (order_id, id)
;;
CREATE TABLE order_holds (
  id %PK%,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  reason TEXT NOT NULL CHECK (reason IN ('payment_not_captured','address_incomplete','value_over_threshold','manual')),
  detail TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  released_at TIMESTAMPTZ NULL,
  released_by TEXT NOT NULL DEFAULT '',
  release_note TEXT NOT NULL DEFAULT '',
  CHECK (released_at IS NULL OR release_note <> '')
)
;;
CREATE UNIQUE INDEX order_holds_open ON order_holds (order_id, reason) WHERE released_at IS NULL
;;
CREATE TABLE unmapped_order_lines (
  id %PK%,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  line_no INTEGER NOT NULL CHECK (line_no > 0),
  channel_sku TEXT NOT NULL DEFAULT '',
  variant_ref TEXT NOT NULL DEFAULT '',
  product_ref TEXT NOT NULL DEFAULT '',
  qty BIGINT NOT NULL CHECK (qty > 0),
  price_cents BIGINT NOT NULL DEFAULT 0,
  channel_line_ref TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (order_id, line_no)
)
;;
CREATE INDEX unmapped_order_lines_channel ON unmapped_order_lines (channel_id, channel_sku)
;;
CREATE TABLE order_refunds (
  id %PK%,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  external_id TEXT NOT NULL,
  amount_cents BIGINT NOT NULL DEFAULT 0 CHECK (amount_cents >= 0),
  lines TEXT NOT NULL DEFAULT '[]',
  order_status TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  UNIQUE (order_id, external_id)
)
"""

_OLD_TO_NEW = (
    "CASE {col} WHEN 'open' THEN 'released' WHEN 'picking' THEN 'picking'"
    " WHEN 'partially_shipped' THEN 'partially_shipped' WHEN 'shipped' THEN 'shipped' ELSE 'cancelled' END"
)

_SQLITE_STATUS = [
    "DROP INDEX orders_status",
    "ALTER TABLE orders ADD COLUMN old_status TEXT NOT NULL DEFAULT ''",
    "UPDATE orders SET old_status = status",
    # A column CHECK belongs to its column, so SQLite lets the column go with it.
    "ALTER TABLE orders DROP COLUMN status",
    f"ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'imported' CHECK ({_STATUS_CHECK})",
    "UPDATE orders SET status = " + _OLD_TO_NEW.format(col="old_status"),
    "ALTER TABLE orders DROP COLUMN old_status",
    "CREATE INDEX orders_status ON orders (status, id)",
]

_POSTGRES_STATUS = [
    "ALTER TABLE orders DROP CONSTRAINT orders_status_check",
    "UPDATE orders SET status = " + _OLD_TO_NEW.format(col="status"),
    f"ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK ({_STATUS_CHECK})",
    "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'imported'",
]


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    tables = [s.replace("%PK%", pk).strip() for s in _TABLES.split(";;")]
    status = _POSTGRES_STATUS if dialect == "postgres" else _SQLITE_STATUS
    return [*status, *tables]
