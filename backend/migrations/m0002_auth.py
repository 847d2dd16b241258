"""Floor users with roles and PINs, server-side sessions, and the audit log."""

NAME = "auth"

_STATEMENTS = """
CREATE TABLE users (
  id %PK%,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('picker','receiver','counter','lead','manager','admin')),
  pin_hash TEXT NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until TIMESTAMPTZ NULL,
  created_at TIMESTAMPTZ NOT NULL
)
;;
CREATE TABLE sessions (
  id %PK%,
  token_hash TEXT NOT NULL UNIQUE,
  user_id BIGINT NOT NULL REFERENCES users(id),
  device_id TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  last_seen_at TIMESTAMPTZ NOT NULL,
  ended_at TIMESTAMPTZ NULL
)
;;
CREATE INDEX sessions_user ON sessions (user_id)
;;
CREATE TABLE audit_log (
  id %PK%,
  at TIMESTAMPTZ NOT NULL,
  actor TEXT NOT NULL,
  device TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  entity TEXT NOT NULL DEFAULT '',
  entity_id TEXT NOT NULL DEFAULT '',
  before TEXT NOT NULL DEFAULT '',
  after TEXT NOT NULL DEFAULT ''
)
;;
CREATE INDEX audit_entity ON audit_log (entity, entity_id)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
