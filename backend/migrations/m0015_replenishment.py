"""Replenishment: a policy per item and warehouse, and the suggestions each run leaves for a planner.

- `replenishment_policies`: how one item is replenished in one warehouse — reorder point with safety
  stock (`rop`), min/max (`minmax`, with the manager's min and max in base units) or periodic review
  (`periodic`, order-up-to over the review period plus the lead time) — at a cycle service level. A pair
  without a row gets the default policy (backend/domain/replenishment/_policies.py).
- `replenishment_suggestions`: what a run suggests — a purchase (from the item's supplier) or a transfer
  (from another warehouse's excess) — with every number behind it: daily demand and its deviation, lead
  time and its deviation, z, safety stock, reorder point, order-up-to level, available and on-order
  stock, MOQ and case pack, the forecast method and its back-test error. A run replaces the open
  suggestions; approved ones keep the purchase order they became.
"""

NAME = "replenishment"

_STATEMENTS = """
CREATE TABLE replenishment_policies (
  item_id BIGINT NOT NULL REFERENCES items(id),
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  kind TEXT NOT NULL CHECK (kind IN ('rop','minmax','periodic')),
  service_level DOUBLE PRECISION NOT NULL CHECK (service_level >= 0.5 AND service_level <= 0.9999),
  review_days INTEGER NOT NULL CHECK (review_days BETWEEN 0 AND 365),
  min_qty BIGINT NOT NULL DEFAULT 0 CHECK (min_qty >= 0),
  max_qty BIGINT NOT NULL DEFAULT 0 CHECK (max_qty >= 0),
  updated_at TIMESTAMPTZ NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (item_id, warehouse_id),
  CHECK (kind <> 'minmax' OR max_qty >= min_qty)
)
;;
CREATE TABLE replenishment_suggestions (
  id %PK%,
  run_id BIGINT NULL,
  computed_at TIMESTAMPTZ NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('purchase','transfer')),
  status TEXT NOT NULL CHECK (status IN ('open','approved')),
  item_id BIGINT NOT NULL REFERENCES items(id),
  warehouse_id BIGINT NOT NULL REFERENCES locations(id),
  from_warehouse_id BIGINT NULL REFERENCES locations(id),
  supplier_id BIGINT NULL REFERENCES suppliers(id),
  qty_suggested BIGINT NOT NULL CHECK (qty_suggested > 0),
  qty BIGINT NOT NULL CHECK (qty > 0),
  need BIGINT NOT NULL CHECK (need >= 0),
  policy_kind TEXT NOT NULL CHECK (policy_kind IN ('rop','minmax','periodic')),
  policy_default BOOLEAN NOT NULL,
  service_level DOUBLE PRECISION NOT NULL,
  demand_daily DOUBLE PRECISION NOT NULL,
  demand_sd DOUBLE PRECISION NOT NULL,
  lead_days DOUBLE PRECISION NOT NULL,
  lead_sd DOUBLE PRECISION NOT NULL,
  lead_observed INTEGER NOT NULL DEFAULT 0,
  review_days INTEGER NOT NULL,
  z DOUBLE PRECISION NOT NULL,
  safety_stock DOUBLE PRECISION NOT NULL,
  reorder_point DOUBLE PRECISION NOT NULL,
  order_up_to DOUBLE PRECISION NOT NULL,
  available BIGINT NOT NULL,
  on_order BIGINT NOT NULL,
  moq BIGINT NOT NULL CHECK (moq >= 1),
  case_pack BIGINT NOT NULL CHECK (case_pack >= 1),
  forecast_method TEXT NOT NULL CHECK (forecast_method IN ('ets','tsb','seasonal_naive','mean')),
  forecast_mae DOUBLE PRECISION NULL,
  forecast_bias DOUBLE PRECISION NULL,
  candidate_mae DOUBLE PRECISION NULL,
  naive_mae DOUBLE PRECISION NULL,
  purchase_order_id BIGINT NULL REFERENCES purchase_orders(id),
  approved_by TEXT NOT NULL DEFAULT '',
  approved_at TIMESTAMPTZ NULL,
  CHECK ((kind = 'transfer') = (from_warehouse_id IS NOT NULL)),
  CHECK ((status = 'approved') = (approved_at IS NOT NULL))
)
;;
CREATE INDEX replenishment_suggestions_status ON replenishment_suggestions (status, id)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
