"""Job functions: thin, idempotent adapters onto domain commands (they may run more than once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from backend.domain import idempotency
from backend.domain.errors import DomainError, UnknownReservation
from backend.domain.ledger import commands, retention
from backend.domain.ledger.check import run_check
from backend.domain.ledger.queries import expired_reservation_ids

log = structlog.get_logger("stockline.jobs")
EXPIRE_BATCH_MAX = 500


async def expire_reservations(ctx: dict[str, Any] | None = None) -> int:
    """Release reservations past their expiry. Each release is its own command, keyed by the
    reservation id, so a second run (or a concurrent worker) posts nothing twice. One reservation
    that cannot be released is logged and left for a person; the rest are still released."""
    now = datetime.now(UTC)
    released = 0
    for reservation_id in await expired_reservation_ids(now, limit=EXPIRE_BATCH_MAX):
        try:
            result = await commands.execute(
                commands.ReleaseReservation(reservation_id=reservation_id, reason="expired"),
                key=idempotency.scoped_key("job", f"expire-reservation:{reservation_id}"),
                actor="job:expire_reservations",
            )
        except UnknownReservation:
            continue  # picked or released in the meantime
        except DomainError as exc:
            log.warning("jobs.reservation_not_expired", reservation_id=reservation_id, error=exc.code,
                        message=exc.message)
            continue
        released += 0 if result.replayed else 1
    if released:
        log.info("jobs.reservations_expired", count=released)
    return released


async def ledger_check(ctx: dict[str, Any] | None = None) -> int:
    """The nightly check: incremental (movements since the last checkpoint, one snapshot)."""
    return await _check(full=False)


async def ledger_check_full(ctx: dict[str, Any] | None = None) -> int:
    """The weekly check: every movement summed again (it also sees what the incremental one trusts)."""
    return await _check(full=True)


async def _check(*, full: bool) -> int:
    report = await run_check(full=full)
    log.info("jobs.ledger_checked", full=full, checkpoint=report.checkpoint_movement_id, recent=report.recent_movements,
             settled=report.settled, seconds=round(report.seconds, 3), drifts=len(report.drifts))
    if report.drifts:
        log.error("jobs.ledger_drift", count=len(report.drifts), first=str(report.drifts[0]))
    return len(report.drifts)


async def compact_command_log(ctx: dict[str, Any] | None = None) -> int:
    """Drop stored answers of idempotency keys past the retry window (keys stay; see ledger/retention.py)."""
    report = await retention.compact_command_log()
    log.info("jobs.command_log_compacted", keys=report.keys, caught_up=report.caught_up)
    return report.keys
