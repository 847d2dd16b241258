"""command_log retention: an idempotency key's stored answer is kept as long as a client may retry,
then compacted; the key itself stays forever, because every movement names it (`command_key`). This
decides when; backend/domain/idempotency.py, which owns the table, drops the answers.

What a compacted row keeps: key, kind, actor, created_at (with the movement's own item, quantity,
locations, states, reason, actor, doc_ref and time, that explains every movement). What it drops:
the payload hash and the stored result body (for fulfillment and count commands a whole view of
the outcome). A retry of a compacted key is refused (`IdempotencyKeyExpired`, 422), never run again.

The window (30 days, at least 15) is longer than any client retries: HTTP clients retry for minutes,
a handheld may keep scans offline up to the 14 days its cached sign-in lasts, and those come back
through the sync inbox's own txn_id rows before they reach command_log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backend import db
from backend.domain import idempotency
from backend.domain.errors import InvalidInput

RESULT_RETENTION_DAYS = 30
RESULT_RETENTION_DAYS_MIN = 15
# One transaction per slice of time; PostgreSQL finds a slice's rows through the BRIN index on
# created_at. A slice is sized to hold about COMPACT_SLICE_KEYS keys (doubled after a thin one,
# halved after a thick one), so quiet months pass in a few steps and busy hours stay small.
COMPACT_SLICE_KEYS = 5_000
COMPACT_SLICE_FIRST = timedelta(hours=1)
COMPACT_SLICE_MIN = timedelta(minutes=1)
COMPACT_SLICE_MAX = timedelta(days=31)
COMPACT_KEYS_PER_RUN_MAX = 1_000_000  # about three days at 10M movements a month; the rest next run
COMPACT_SLICES_PER_RUN_MAX = 1_000


@dataclass(frozen=True, slots=True)
class CompactionReport:
    keys: int
    compacted_before: datetime | None
    caught_up: bool

    def summary(self) -> str:
        if self.compacted_before is None:
            return "command_log: nothing old enough to compact"
        more = "" if self.caught_up else "; older keys remain: run again"
        return (f"command_log: compacted {self.keys} key(s); keys created before"
                f" {self.compacted_before.isoformat(timespec='seconds')} are compacted{more}")


def _as_datetime(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _compacted_before() -> datetime | None:
    """Where the last run stopped; on the first run, the oldest key not compacted yet."""
    row = await db.fetch_one("SELECT compacted_before FROM command_log_compaction WHERE id = 1")
    if row is not None:
        return _as_datetime(row["compacted_before"])
    oldest = await idempotency.oldest_unexpired()
    return _as_datetime(oldest) if oldest is not None else None


async def _compact_slice(start: datetime, end: datetime) -> int:
    now = datetime.now(UTC)
    done = await idempotency.expire_answers(start, end, now)
    await db.fetch(
        "INSERT INTO command_log_compaction (id, compacted_before, updated_at) VALUES (1, {}, {})"
        " ON CONFLICT (id) DO UPDATE SET compacted_before = CASE WHEN excluded.compacted_before >"
        " command_log_compaction.compacted_before THEN excluded.compacted_before"
        " ELSE command_log_compaction.compacted_before END, updated_at = excluded.updated_at",
        end, now,
    )
    return done


async def compact_command_log(*, keep_days: int = RESULT_RETENTION_DAYS,
                              now: datetime | None = None) -> CompactionReport:
    """Compact keys created more than `keep_days` ago, oldest first, one slice of time per transaction,
    at most COMPACT_KEYS_PER_RUN_MAX keys per run. Safe to run twice or concurrently (a key is
    compacted once; the mark only moves forward)."""
    if keep_days < RESULT_RETENTION_DAYS_MIN:
        raise InvalidInput(f"Keep idempotency results at least {RESULT_RETENTION_DAYS_MIN} days:"
                           " clients and offline handhelds may still retry.")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    start = await _compacted_before()
    if start is None:
        return CompactionReport(0, None, True)
    keys, width = 0, COMPACT_SLICE_FIRST
    for _ in range(COMPACT_SLICES_PER_RUN_MAX):
        if start >= cutoff or keys >= COMPACT_KEYS_PER_RUN_MAX:
            break
        end = min(start + width, cutoff)

        async def compact(s: datetime = start, e: datetime = end) -> int:
            return await _compact_slice(s, e)

        done = await db.run_in_transaction(compact)
        keys, start = keys + done, end
        if done < COMPACT_SLICE_KEYS // 2:
            width = min(width * 2, COMPACT_SLICE_MAX)
        elif done > COMPACT_SLICE_KEYS * 2:
            width = max(width / 2, COMPACT_SLICE_MIN)
    return CompactionReport(keys, min(start, cutoff), start >= cutoff)
