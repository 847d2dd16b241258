"""Suppliers, what each supplier sells us, and purchase orders.

- `suppliers`: who we buy from, in which currency (ISO 4217), their quoted lead time in days and the
  minimum order quantity and case pack (base units) that hold for every item unless the item's
  `supplier_items` row overrides them.
- `supplier_items`: an item a supplier sells, its number at the supplier and its cost in minor currency
  units; at most one preferred supplier per item (a partial unique index).
- `purchase_orders` / `purchase_order_lines`: what we ordered, from whom, for which receiving
  warehouse (a `locations` row of kind 'warehouse'). One line per item per order. What has arrived is
  not stored here: it is the ledger's receipt movements whose doc_ref is the order's number
  (backend/domain/purchasing/_receipts.py), read by m0008's `movements_doc_ref` index.
"""

NAME = "purchasing"

_STATEMENTS = """
CREATE TABLE suppliers (
  id %PK%,
  code TEXT NOT NULL UNIQUE CHECK (code <> ''),
  name TEXT NOT NULL CHECK (name <> ''),
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  lead_time_days INTEGER NOT NULL DEFAULT 0 CHECK (lead_time_days BETWEEN 0 AND 3650),
  moq BIGINT NOT NULL DEFAULT 1 CHECK (moq >= 1),
  case_pack BIGINT NOT NULL DEFAULT 1 CHECK (case_pack >= 1),
  email TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)
;;
CREATE TABLE supplier_items (
  id %PK%,
  supplier_id BIGINT NOT NULL REFERENCES suppliers(id),
  item_id BIGINT NOT NULL REFERENCES items(id),
  supplier_sku TEXT NOT NULL DEFAULT '',
  unit_cost_minor BIGINT NOT NULL DEFAULT 0 CHECK (unit_cost_minor >= 0),
  moq BIGINT NULL CHECK (moq IS NULL OR moq >= 1),
  case_pack BIGINT NULL CHECK (case_pack IS NULL OR case_pack >= 1),
  lead_time_days INTEGER NULL CHECK (lead_time_days IS NULL OR lead_time_days BETWEEN 0 AND 3650),
  preferred BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  UNIQUE (supplier_id, item_id)
)
;;
CREATE UNIQUE INDEX supplier_items_one_preferred ON supplier_items (item_id) WHERE preferred
;;
CREATE INDEX supplier_items_item ON supplier_items (item_id)
;;
CREATE TABLE purchase_orders (
  id %PK%,
  number TEXT NOT NULL UNIQUE,
  supplier_id BIGINT NOT NULL REFERENCES suppliers(id),
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  status TEXT NOT NULL CHECK (status IN ('draft','sent','partially_received','received','closed','cancelled')),
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  sent_at TIMESTAMPTZ NULL,
  expected_at TIMESTAMPTZ NULL,
  closed_at TIMESTAMPTZ NULL,
  cancelled_at TIMESTAMPTZ NULL,
  created_by TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  CHECK (status IN ('draft','cancelled') OR sent_at IS NOT NULL),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
  CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
)
;;
CREATE INDEX purchase_orders_status ON purchase_orders (status, id)
;;
CREATE INDEX purchase_orders_supplier ON purchase_orders (supplier_id, id)
;;
CREATE TABLE purchase_order_lines (
  id %PK%,
  purchase_order_id BIGINT NOT NULL REFERENCES purchase_orders(id),
  item_id BIGINT NOT NULL REFERENCES items(id),
  qty_ordered BIGINT NOT NULL CHECK (qty_ordered > 0),
  unit_cost_minor BIGINT NOT NULL DEFAULT 0 CHECK (unit_cost_minor >= 0),
  UNIQUE (purchase_order_id, item_id)
)
;;
CREATE INDEX purchase_order_lines_item ON purchase_order_lines (item_id)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
