"""Every background job run recorded (`job_runs`), and stock levels / shipments sent to sales channels.

- `job_runs`: one row per attempt of a job (arq's job id and try, or the web process's own run when there
  is no Redis): kind, how it was started, status, start / heartbeat / end, progress done of total, the
  result (JSON counts) or the error. A manager's "run now" is a `queued` row the job adopts when it starts.
  A `running` row whose heartbeat stops is marked `stuck` by the watch job.
- `channel_connections`: how Stockline reaches a channel's API (base URL, credentials, Shopify location,
  requests per second) and what it offers there (safety buffer in units or %, share of stock), plus the
  per-channel lease that keeps two workers from pushing the same channel at once.
- `channel_listings`: the channel's SKUs (its inventory item / product ids), the Stockline item each stands
  for, and the quantity the channel holds as far as Stockline knows (`channel_qty`: the last quantity it
  accepted from us, or the last one read from it). A push sends only listings whose available-to-sell
  differs from it.
- `channel_confirmations`: one row per shipment of a channel order, retried with backoff until the
  channel accepts it.
"""

NAME = "job_runs_channel_sync"

_STATEMENTS = """
CREATE TABLE job_runs (
  id %PK%,
  kind TEXT NOT NULL CHECK (kind <> ''),
  run_key TEXT NOT NULL UNIQUE,
  job_id TEXT NOT NULL DEFAULT '',
  job_try INTEGER NOT NULL DEFAULT 1 CHECK (job_try > 0),
  trigger TEXT NOT NULL CHECK (trigger IN ('schedule','manual','event')),
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','retrying','stuck')),
  requested_by TEXT NOT NULL DEFAULT '',
  runner TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ NULL,
  heartbeat_at TIMESTAMPTZ NULL,
  finished_at TIMESTAMPTZ NULL,
  progress_done BIGINT NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
  progress_total BIGINT NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
  progress_note TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT ''
)
;;
CREATE INDEX job_runs_kind ON job_runs (kind, id)
;;
CREATE INDEX job_runs_status ON job_runs (status, heartbeat_at)
;;
CREATE TABLE channel_connections (
  channel_id BIGINT PRIMARY KEY REFERENCES channels(id),
  api_url TEXT NOT NULL CHECK (api_url <> ''),
  api_key TEXT NOT NULL DEFAULT '',
  api_secret TEXT NOT NULL DEFAULT '',
  location_ref TEXT NOT NULL DEFAULT '',
  requests_per_s INTEGER NOT NULL DEFAULT 2 CHECK (requests_per_s BETWEEN 1 AND 1000),
  buffer_units BIGINT NOT NULL DEFAULT 0 CHECK (buffer_units >= 0),
  buffer_pct INTEGER NOT NULL DEFAULT 0 CHECK (buffer_pct BETWEEN 0 AND 100),
  share_pct INTEGER NOT NULL DEFAULT 100 CHECK (share_pct BETWEEN 0 AND 100),
  push_stock BOOLEAN NOT NULL DEFAULT TRUE,
  confirm_shipments BOOLEAN NOT NULL DEFAULT TRUE,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until TIMESTAMPTZ NULL,
  listed_at TIMESTAMPTZ NULL,
  pushed_at TIMESTAMPTZ NULL,
  checked_at TIMESTAMPTZ NULL,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  CHECK (buffer_units = 0 OR buffer_pct = 0)
)
;;
CREATE TABLE channel_listings (
  id %PK%,
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  remote_id TEXT NOT NULL CHECK (remote_id <> ''),
  channel_sku TEXT NOT NULL DEFAULT '',
  sku_key TEXT NOT NULL DEFAULT '',
  variant_ref TEXT NOT NULL DEFAULT '',
  item_id BIGINT NULL REFERENCES items(id),
  channel_qty BIGINT NULL,
  pushed_qty BIGINT NULL,
  pushed_at TIMESTAMPTZ NULL,
  read_qty BIGINT NULL,
  read_at TIMESTAMPTZ NULL,
  problem TEXT NOT NULL DEFAULT '',
  UNIQUE (channel_id, remote_id)
)
;;
CREATE INDEX channel_listings_item ON channel_listings (channel_id, item_id)
;;
CREATE TABLE channel_confirmations (
  shipment_id BIGINT PRIMARY KEY REFERENCES shipments(id),
  channel_id BIGINT NOT NULL REFERENCES channels(id),
  order_id BIGINT NOT NULL REFERENCES orders(id),
  status TEXT NOT NULL CHECK (status IN ('pending','accepted')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TIMESTAMPTZ NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  remote_ref TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  accepted_at TIMESTAMPTZ NULL,
  CHECK ((status = 'accepted') = (accepted_at IS NOT NULL))
)
;;
CREATE INDEX channel_confirmations_due ON channel_confirmations (status, next_attempt_at)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
