from piccolo.columns import BigInt, BigSerial, Integer, Text, Timestamptz
from piccolo.table import Table


class JobRun(Table, tablename="job_runs"):
    """One attempt of a background job (backend/domain/job_runs/_runs.py)."""

    id = BigSerial(primary_key=True)
    kind = Text()
    run_key = Text(unique=True)
    job_id = Text(default="")
    job_try = Integer(default=1)
    trigger = Text()  # schedule | manual | event
    status = Text()  # queued | running | done | failed | retrying | stuck
    requested_by = Text(default="")
    runner = Text(default="")
    created_at = Timestamptz()
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    progress_done = BigInt(default=0)
    progress_total = BigInt(default=0)
    progress_note = Text(default="")
    result = Text(default="")
    error = Text(default="")
