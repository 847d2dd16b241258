"""Cycle counts (tasks, start-of-count snapshot, scans, lines) and adjustment requests."""

NAME = "counts"

_STATEMENTS = """
CREATE TABLE count_tasks (
  id %PK%,
  command_key TEXT NOT NULL UNIQUE REFERENCES command_log(key),
  bin_id BIGINT NOT NULL REFERENCES locations(id),
  item_id BIGINT NULL REFERENCES items(id),
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open','counting','pending_approval','completed','rejected')),
  recount_of BIGINT NULL REFERENCES count_tasks(id),
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  started_by TEXT NOT NULL DEFAULT '',
  started_by_user_id BIGINT NULL,
  started_at TIMESTAMPTZ NULL,
  submitted_by TEXT NOT NULL DEFAULT '',
  submitted_by_user_id BIGINT NULL,
  submitted_at TIMESTAMPTZ NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  decided_by_user_id BIGINT NULL,
  decided_at TIMESTAMPTZ NULL,
  decision_note TEXT NOT NULL DEFAULT ''
)
;;
CREATE UNIQUE INDEX count_tasks_one_active_per_bin ON count_tasks (bin_id)
  WHERE status IN ('open','counting','pending_approval')
;;
CREATE INDEX count_tasks_status ON count_tasks (status, id)
;;
CREATE TABLE count_snapshot (
  id %PK%,
  task_id BIGINT NOT NULL REFERENCES count_tasks(id),
  item_id BIGINT NOT NULL REFERENCES items(id),
  lot TEXT NOT NULL DEFAULT '',
  expected_qty BIGINT NOT NULL CHECK (expected_qty >= 0),
  UNIQUE (task_id, item_id, lot)
)
;;
CREATE TABLE count_entries (
  id %PK%,
  command_key TEXT NOT NULL UNIQUE REFERENCES command_log(key),
  task_id BIGINT NOT NULL REFERENCES count_tasks(id),
  item_id BIGINT NOT NULL REFERENCES items(id),
  lot TEXT NOT NULL DEFAULT '',
  qty BIGINT NOT NULL CHECK (qty >= 0),
  mode TEXT NOT NULL CHECK (mode IN ('set','add')),
  counted_by TEXT NOT NULL,
  counted_by_user_id BIGINT NULL,
  device TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE INDEX count_entries_task ON count_entries (task_id, id)
;;
CREATE TABLE count_lines (
  id %PK%,
  task_id BIGINT NOT NULL REFERENCES count_tasks(id),
  item_id BIGINT NOT NULL REFERENCES items(id),
  lot TEXT NOT NULL DEFAULT '',
  counted_qty BIGINT NOT NULL CHECK (counted_qty >= 0),
  entered BOOLEAN NOT NULL,
  counted_at TIMESTAMPTZ NULL,
  variance BIGINT NULL,
  value_cents BIGINT NULL CHECK (value_cents >= 0),
  status TEXT NOT NULL
    CHECK (status IN ('counted','matched','posted','pending_approval','needs_review','rejected')),
  review_reason TEXT NOT NULL DEFAULT '',
  ledger_key TEXT NULL REFERENCES command_log(key),
  UNIQUE (task_id, item_id, lot)
)
;;
CREATE TABLE adjustment_requests (
  id %PK%,
  command_key TEXT NOT NULL UNIQUE REFERENCES command_log(key),
  item_id BIGINT NOT NULL REFERENCES items(id),
  location_id BIGINT NOT NULL REFERENCES locations(id),
  lot TEXT NOT NULL DEFAULT '',
  delta BIGINT NOT NULL CHECK (delta <> 0),
  reason TEXT NOT NULL,
  value_cents BIGINT NOT NULL CHECK (value_cents >= 0),
  status TEXT NOT NULL CHECK (status IN ('pending_approval','posted','rejected')),
  requested_by TEXT NOT NULL,
  requested_by_user_id BIGINT NULL,
  requested_at TIMESTAMPTZ NOT NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  decided_by_user_id BIGINT NULL,
  decided_at TIMESTAMPTZ NULL,
  decision_note TEXT NOT NULL DEFAULT '',
  ledger_key TEXT NULL REFERENCES command_log(key)
)
;;
CREATE INDEX adjustment_requests_status ON adjustment_requests (status, id)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
