from piccolo.columns import BigSerial, Integer, Text, Timestamptz
from piccolo.table import Table


class ImportRun(Table, tablename="import_runs"):
    """A catalogue file imported from the tablet (backend/domain/imports/_runs.py)."""

    id = BigSerial(primary_key=True)
    kind = Text()
    filename = Text(default="")
    sha256 = Text()
    content = Text(default="")
    status = Text()
    rows_total = Integer(default=0)
    rows_done = Integer(default=0)
    errors = Text(default="[]")
    errors_total = Integer(default=0)
    summary = Text(default="")
    actor = Text()
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
