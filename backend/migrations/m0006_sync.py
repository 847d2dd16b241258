"""Offline sync: the inbox of handheld scan envelopes, devices, sequence gaps and manager exceptions.

See docs/offline-protocol.md and sync/. `sync_inbox.status` is 'pending' only inside the
transaction that claims a txn_id (it is set to its final status before that transaction commits);
'duplicate' is a response status, never stored: a duplicate is the stored row answered again.
"""

NAME = "sync"

_STATEMENTS = """
CREATE TABLE sync_inbox (
  id %PK%,
  txn_id TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  seq BIGINT NOT NULL CHECK (seq >= 1),
  user_id BIGINT NULL,
  session_user_id BIGINT NULL,
  kind TEXT NOT NULL DEFAULT '',
  payload_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','applied','needs_review','rejected')),
  result TEXT NOT NULL DEFAULT '{}',
  reason TEXT NOT NULL DEFAULT '',
  scanned_at TEXT NOT NULL DEFAULT '',
  received_at TIMESTAMPTZ NOT NULL,
  UNIQUE (device_id, seq)
)
;;
CREATE TABLE sync_devices (
  device_id TEXT PRIMARY KEY,
  last_seen_at TIMESTAMPTZ NOT NULL,
  last_user_id BIGINT NULL,
  pending_reported INTEGER NOT NULL DEFAULT 0 CHECK (pending_reported >= 0),
  failed_reported INTEGER NOT NULL DEFAULT 0 CHECK (failed_reported >= 0),
  highest_seq BIGINT NOT NULL DEFAULT 0 CHECK (highest_seq >= 0)
)
;;
CREATE TABLE sync_gaps (
  id %PK%,
  device_id TEXT NOT NULL REFERENCES sync_devices(device_id),
  missing_from BIGINT NOT NULL CHECK (missing_from >= 1),
  missing_to BIGINT NOT NULL,
  detected_at TIMESTAMPTZ NOT NULL,
  resolved BOOLEAN NOT NULL DEFAULT FALSE,
  CHECK (missing_to >= missing_from),
  UNIQUE (device_id, missing_from)
)
;;
CREATE INDEX sync_gaps_open ON sync_gaps (resolved, device_id)
;;
CREATE TABLE sync_exceptions (
  id %PK%,
  txn_id TEXT NOT NULL UNIQUE REFERENCES sync_inbox(txn_id),
  device_id TEXT NOT NULL,
  user_id BIGINT NULL,
  kind TEXT NOT NULL,
  location TEXT NOT NULL DEFAULT '',
  sku TEXT NOT NULL DEFAULT '',
  shortfall BIGINT NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
  adjustment_movement_ids TEXT NOT NULL DEFAULT '[]',
  count_task_id BIGINT NULL REFERENCES count_tasks(id),
  reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('open','resolved')),
  created_at TIMESTAMPTZ NOT NULL,
  resolved_by TEXT NOT NULL DEFAULT '',
  resolved_by_user_id BIGINT NULL,
  resolved_at TIMESTAMPTZ NULL,
  resolution_note TEXT NOT NULL DEFAULT ''
)
;;
CREATE INDEX sync_exceptions_status ON sync_exceptions (status, id)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
