"""Item master, locations, the append-only ledger, balances, reservations, API tokens."""

NAME = "ledger"

_TABLES = """
CREATE TABLE items (
  id %PK%,
  sku TEXT NOT NULL,
  sku_key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  base_unit TEXT NOT NULL DEFAULT 'each',
  active BOOLEAN NOT NULL DEFAULT TRUE,
  parent_id BIGINT NULL REFERENCES items(id),
  variant_attrs TEXT NOT NULL DEFAULT '{}',
  lot_tracked BOOLEAN NOT NULL DEFAULT FALSE,
  serial_tracked BOOLEAN NOT NULL DEFAULT FALSE,
  is_kit BOOLEAN NOT NULL DEFAULT FALSE,
  unit_cost_cents BIGINT NOT NULL DEFAULT 0 CHECK (unit_cost_cents >= 0),
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE TABLE item_units (
  id %PK%,
  item_id BIGINT NOT NULL REFERENCES items(id),
  unit TEXT NOT NULL,
  factor BIGINT NOT NULL CHECK (factor > 0),
  UNIQUE (item_id, unit)
)
;;
CREATE TABLE barcodes (
  id %PK%,
  code TEXT NOT NULL UNIQUE,
  item_id BIGINT NOT NULL REFERENCES items(id),
  unit TEXT NOT NULL
)
;;
CREATE INDEX barcodes_item ON barcodes (item_id)
;;
CREATE TABLE kit_components (
  id %PK%,
  kit_id BIGINT NOT NULL REFERENCES items(id),
  component_id BIGINT NOT NULL REFERENCES items(id),
  qty BIGINT NOT NULL CHECK (qty > 0),
  UNIQUE (kit_id, component_id)
)
;;
CREATE TABLE locations (
  id %PK%,
  code TEXT NOT NULL,
  code_key TEXT NOT NULL UNIQUE,
  barcode TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL CHECK (kind IN ('warehouse','zone','bin','staging','supplier','customer','in_transit','adjustment','scrap')),
  parent_id BIGINT NULL REFERENCES locations(id),
  warehouse_id BIGINT NULL REFERENCES locations(id),
  walk_seq INTEGER NOT NULL DEFAULT 0,
  active BOOLEAN NOT NULL DEFAULT TRUE
)
;;
CREATE INDEX locations_parent ON locations (parent_id, walk_seq)
;;
CREATE TABLE lots (
  id %PK%,
  item_id BIGINT NOT NULL REFERENCES items(id),
  lot TEXT NOT NULL,
  expiry DATE NULL,
  UNIQUE (item_id, lot)
)
;;
CREATE TABLE command_log (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE TABLE movements (
  id %PK%,
  idempotency_key TEXT NOT NULL UNIQUE,
  command_key TEXT NOT NULL REFERENCES command_log(key),
  item_id BIGINT NOT NULL REFERENCES items(id),
  lot TEXT NOT NULL DEFAULT '',
  qty BIGINT NOT NULL CHECK (qty > 0),
  from_location_id BIGINT NOT NULL REFERENCES locations(id),
  to_location_id BIGINT NOT NULL REFERENCES locations(id),
  from_state TEXT NOT NULL CHECK (from_state IN ('available','quarantined','damaged')),
  to_state TEXT NOT NULL CHECK (to_state IN ('available','quarantined','damaged')),
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  doc_ref TEXT NOT NULL DEFAULT '',
  reversal_of BIGINT NULL UNIQUE REFERENCES movements(id),
  created_at TIMESTAMPTZ NOT NULL,
  CHECK (from_location_id <> to_location_id OR from_state <> to_state)
)
;;
CREATE INDEX movements_item ON movements (item_id, id)
;;
CREATE INDEX movements_from ON movements (from_location_id, id)
;;
CREATE INDEX movements_to ON movements (to_location_id, id)
;;
CREATE INDEX movements_command ON movements (command_key)
;;
CREATE TABLE balances (
  id %PK%,
  item_id BIGINT NOT NULL REFERENCES items(id),
  location_id BIGINT NOT NULL REFERENCES locations(id),
  lot TEXT NOT NULL DEFAULT '',
  on_hand BIGINT NOT NULL DEFAULT 0,
  reserved BIGINT NOT NULL DEFAULT 0,
  quarantined BIGINT NOT NULL DEFAULT 0,
  damaged BIGINT NOT NULL DEFAULT 0,
  UNIQUE (item_id, location_id, lot),
  CHECK (on_hand >= 0 AND reserved >= 0 AND quarantined >= 0 AND damaged >= 0),
  CHECK (reserved + quarantined + damaged <= on_hand)
)
;;
CREATE INDEX balances_location ON balances (location_id, item_id)
;;
CREATE TABLE reservations (
  id %PK%,
  command_key TEXT NOT NULL REFERENCES command_log(key),
  item_id BIGINT NOT NULL REFERENCES items(id),
  location_id BIGINT NOT NULL REFERENCES locations(id),
  lot TEXT NOT NULL DEFAULT '',
  qty BIGINT NOT NULL CHECK (qty > 0),
  open_qty BIGINT NOT NULL CHECK (open_qty >= 0),
  status TEXT NOT NULL CHECK (status IN ('open','consumed','released','expired')),
  order_ref TEXT NOT NULL DEFAULT '',
  expires_at TIMESTAMPTZ NULL,
  created_at TIMESTAMPTZ NOT NULL,
  CHECK (open_qty <= qty),
  CHECK (status = 'open' OR open_qty = 0)
)
;;
CREATE INDEX reservations_open ON reservations (status, expires_at)
;;
CREATE INDEX reservations_item ON reservations (item_id, location_id, lot)
;;
CREATE TABLE api_tokens (
  id %PK%,
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('read','write')),
  token_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ NULL
)
"""

_VIRTUAL_LOCATIONS = """
INSERT INTO locations (code, code_key, barcode, name, kind) VALUES
  ('SUPPLIER', 'supplier', 'LOC-SUPPLIER', 'Suppliers', 'supplier'),
  ('CUSTOMER', 'customer', 'LOC-CUSTOMER', 'Customers', 'customer'),
  ('ADJUSTMENT', 'adjustment', 'LOC-ADJUSTMENT', 'Inventory adjustments', 'adjustment'),
  ('IN-TRANSIT', 'in-transit', 'LOC-IN-TRANSIT', 'In transit', 'in_transit'),
  ('SCRAP', 'scrap', 'LOC-SCRAP', 'Scrap', 'scrap')
"""

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER movements_no_update BEFORE UPDATE ON movements
    BEGIN SELECT RAISE(ABORT, 'movements are append-only: post a reversal instead'); END""",
    """CREATE TRIGGER movements_no_delete BEFORE DELETE ON movements
    BEGIN SELECT RAISE(ABORT, 'movements are append-only: post a reversal instead'); END""",
]

_POSTGRES_APPEND_ONLY = [
    """CREATE FUNCTION stockline_refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'movements are append-only: % refused, post a reversal instead', TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON movements
    FOR EACH ROW EXECUTE FUNCTION stockline_refuse_ledger_change()""",
    """CREATE TRIGGER movements_no_truncate BEFORE TRUNCATE ON movements
    FOR EACH STATEMENT EXECUTE FUNCTION stockline_refuse_ledger_change()""",
]


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    tables = [s.replace("%PK%", pk).strip() for s in _TABLES.split(";;")]
    extra = _POSTGRES_APPEND_ONLY if dialect == "postgres" else _SQLITE_APPEND_ONLY
    return [*tables, _VIRTUAL_LOCATIONS.strip(), *extra]
