"""Fulfillment: orders and their reservations, pick lists, cartons and shipments.

Stock itself never lives here: every quantity change goes through the ledger (reservations,
movements). These tables record the work around it and per-line progress counters.
"""

NAME = "fulfillment"

_STATEMENTS = """
CREATE TABLE orders (
  id %PK%,
  order_ref TEXT NOT NULL,
  ref_key TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL DEFAULT 'manual',
  external_ref TEXT NOT NULL DEFAULT '',
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open','picking','partially_shipped','shipped','cancelled')),
  create_key TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE UNIQUE INDEX orders_channel_external ON orders (channel, external_ref) WHERE external_ref <> ''
;;
CREATE INDEX orders_status ON orders (status, id)
;;
CREATE TABLE order_lines (
  id %PK%,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  line_no INTEGER NOT NULL CHECK (line_no > 0),
  item_id BIGINT NOT NULL REFERENCES items(id),
  qty BIGINT NOT NULL CHECK (qty > 0),
  backordered_qty BIGINT NOT NULL DEFAULT 0,
  picked_qty BIGINT NOT NULL DEFAULT 0,
  short_qty BIGINT NOT NULL DEFAULT 0,
  packed_qty BIGINT NOT NULL DEFAULT 0,
  shipped_qty BIGINT NOT NULL DEFAULT 0,
  UNIQUE (order_id, line_no),
  CHECK (backordered_qty >= 0 AND picked_qty >= 0 AND short_qty >= 0),
  CHECK (backordered_qty + picked_qty + short_qty <= qty),
  CHECK (packed_qty >= 0 AND packed_qty <= picked_qty),
  CHECK (shipped_qty >= 0 AND shipped_qty <= packed_qty)
)
;;
CREATE TABLE order_reservations (
  id %PK%,
  order_line_id BIGINT NOT NULL REFERENCES order_lines(id),
  reservation_id BIGINT NOT NULL UNIQUE REFERENCES reservations(id)
)
;;
CREATE INDEX order_reservations_line ON order_reservations (order_line_id)
;;
CREATE TABLE pick_lists (
  id %PK%,
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done')),
  create_key TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE INDEX pick_lists_status ON pick_lists (status, id)
;;
CREATE TABLE pick_list_lines (
  id %PK%,
  pick_list_id BIGINT NOT NULL REFERENCES pick_lists(id),
  seq INTEGER NOT NULL CHECK (seq > 0),
  order_line_id BIGINT NOT NULL REFERENCES order_lines(id),
  reservation_id BIGINT NOT NULL UNIQUE REFERENCES reservations(id),
  item_id BIGINT NOT NULL REFERENCES items(id),
  location_id BIGINT NOT NULL REFERENCES locations(id),
  lot TEXT NOT NULL DEFAULT '',
  qty BIGINT NOT NULL CHECK (qty > 0),
  picked_qty BIGINT NOT NULL DEFAULT 0 CHECK (picked_qty >= 0),
  short_qty BIGINT NOT NULL DEFAULT 0 CHECK (short_qty >= 0),
  short_reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','picked','short')),
  shorted_at TIMESTAMPTZ NULL,
  UNIQUE (pick_list_id, seq),
  CHECK (picked_qty + short_qty <= qty),
  CHECK (status <> 'picked' OR picked_qty = qty),
  CHECK ((status = 'short') = (short_qty > 0))
)
;;
CREATE INDEX pick_list_lines_order_line ON pick_list_lines (order_line_id)
;;
CREATE INDEX pick_list_lines_short ON pick_list_lines (status, shorted_at)
;;
CREATE TABLE shipments (
  id %PK%,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  carrier TEXT NOT NULL CHECK (carrier <> ''),
  tracking TEXT NOT NULL CHECK (tracking <> ''),
  create_key TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE INDEX shipments_order ON shipments (order_id)
;;
CREATE TABLE cartons (
  id %PK%,
  code TEXT NOT NULL UNIQUE,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed','shipped')),
  shipment_id BIGINT NULL REFERENCES shipments(id),
  create_key TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL,
  closed_at TIMESTAMPTZ NULL,
  CHECK ((status = 'shipped') = (shipment_id IS NOT NULL))
)
;;
CREATE INDEX cartons_order ON cartons (order_id, status)
;;
CREATE TABLE carton_lines (
  id %PK%,
  carton_id BIGINT NOT NULL REFERENCES cartons(id),
  order_line_id BIGINT NOT NULL REFERENCES order_lines(id),
  lot TEXT NOT NULL DEFAULT '',
  qty BIGINT NOT NULL CHECK (qty > 0),
  UNIQUE (carton_id, order_line_id, lot)
)
;;
CREATE INDEX carton_lines_order_line ON carton_lines (order_line_id)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
