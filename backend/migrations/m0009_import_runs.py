"""Catalogue imports started from the tablet: the uploaded file, its progress and its outcome.

A run is created `queued` with the file's content (bounded by the upload limit), goes `validating`
(rows_done counts rows checked) and then `applying` (one transaction), and ends `done`, `invalid`
(errors lists the rows with line numbers; nothing was written) or `failed` (an unexpected error;
nothing was written either). The content is dropped once the run ends.
"""

NAME = "import_runs"

_STATEMENTS = """
CREATE TABLE import_runs (
  id %PK%,
  kind TEXT NOT NULL CHECK (kind IN ('items','barcodes','locations','stock')),
  filename TEXT NOT NULL DEFAULT '',
  sha256 TEXT NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('queued','validating','applying','done','invalid','failed')),
  rows_total INTEGER NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
  rows_done INTEGER NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
  errors TEXT NOT NULL DEFAULT '[]',
  errors_total INTEGER NOT NULL DEFAULT 0,
  summary TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ NULL
)
;;
CREATE INDEX import_runs_recent ON import_runs (created_at)
"""


def statements(dialect: str) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if dialect == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [s.replace("%PK%", pk).strip() for s in _STATEMENTS.split(";;")]
