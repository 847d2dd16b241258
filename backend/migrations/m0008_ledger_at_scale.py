"""The ledger at scale: the check's checkpoint, command_log compaction, movement indexes that earn
their place.

- `ledger_checkpoint` (one row): `digest` of the stock per (item, location, lot) summed from every
  movement up to `as_of_movement_id`; `stockline check` adds what was posted since and compares it
  with the digest of `balances` (backend/domain/ledger/_checkpoint.py). `ledger_checkpoint_balances`:
  that stock row by row as of `rows_as_of_movement_id` (digest `rows_digest`), rebuilt by
  `stockline check --full`, read only to name the rows that drift. Derived data, all of it.
- `command_log.compacted_at`: set when an old key's payload hash and result body were dropped
  (backend/domain/ledger/retention.py); `command_log_compaction` remembers how far that got.
- `count_tasks.started_after_movement_id`: the newest movement when the count started, so the
  approvals' "moved during the count" check reads the bin's movements since then by index.
- Movement indexes, PostgreSQL: `movements_command` (command_key) and the unique index on
  `idempotency_key` were used by no query (a movement's key is `{command key}#{leg}`, unique because
  the command's key is command_log's primary key and `post()` stores one result per key);
  `reversal_of` keeps its uniqueness in a partial index without the NULL of every other movement;
  `doc_ref` gets a partial index; `created_at` a BRIN index for time ranges (rows arrive in time order;
  autosummarize: autovacuum summarizes each filled range, so new rows do not wait for a VACUUM).
  SQLite keeps the UNIQUE indexes of m0001 (dropping them means rebuilding the table, which SQLite
  cannot do inside this migration's transaction with foreign keys on); it drops `movements_command`
  and gets the `doc_ref` index.
"""

NAME = "ledger_at_scale"

_COMMON = """
CREATE TABLE ledger_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  as_of_movement_id BIGINT NOT NULL CHECK (as_of_movement_id >= 0),
  digest BIGINT NOT NULL,
  rows_as_of_movement_id BIGINT NULL,
  rows_digest BIGINT NOT NULL,
  rows_generation BIGINT NOT NULL,
  rebuilt_at TIMESTAMPTZ NOT NULL,
  advanced_at TIMESTAMPTZ NOT NULL
)
;;
CREATE TABLE ledger_checkpoint_balances (
  item_id BIGINT NOT NULL,
  location_id BIGINT NOT NULL,
  lot TEXT NOT NULL,
  on_hand BIGINT NOT NULL,
  quarantined BIGINT NOT NULL,
  damaged BIGINT NOT NULL,
  PRIMARY KEY (item_id, location_id, lot)
)
;;
ALTER TABLE command_log ADD COLUMN compacted_at TIMESTAMPTZ NULL
;;
CREATE TABLE command_log_compaction (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  compacted_before TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)
;;
ALTER TABLE count_tasks ADD COLUMN started_after_movement_id BIGINT NULL
;;
DROP INDEX movements_command
;;
CREATE INDEX movements_doc_ref ON movements (doc_ref, id) WHERE doc_ref <> ''
"""

_POSTGRES = """
ALTER TABLE movements DROP CONSTRAINT movements_idempotency_key_key
;;
ALTER TABLE movements DROP CONSTRAINT movements_reversal_of_key
;;
CREATE UNIQUE INDEX movements_reversal_of ON movements (reversal_of) WHERE reversal_of IS NOT NULL
;;
CREATE INDEX movements_created_brin ON movements USING brin (created_at)
  WITH (pages_per_range = 32, autosummarize = on)
;;
CREATE INDEX command_log_created_brin ON command_log USING brin (created_at)
  WITH (pages_per_range = 32, autosummarize = on)
"""


def _split(block: str) -> list[str]:
    return [s.strip() for s in block.split(";;") if s.strip()]


def statements(dialect: str) -> list[str]:
    return _split(_COMMON) + (_split(_POSTGRES) if dialect == "postgres" else [])
