"""One import: read, check every row, and only if every row is valid write them all in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from backend import db
from backend.domain.auth import audit
from backend.domain.imports import _barcodes, _items, _locations, _stock
from backend.domain.imports._files import CatalogueFile, FileKind, Progress, Report, no_progress

_CHECKS: dict[FileKind, Callable[..., Awaitable[list[Any]]]] = {
    "items": _items.check, "barcodes": _barcodes.check, "locations": _locations.check, "stock": _stock.check,
}
_WRITES: dict[str, Callable[..., Awaitable[int]]] = {
    "items": _items.apply, "barcodes": _barcodes.apply, "locations": _locations.apply,
}


async def import_file(file: CatalogueFile, actor: audit.Actor, progress: Progress = no_progress, *,
                      dry_run: bool = False, before_write: Callable[[], Awaitable[None]] | None = None) -> Report:
    """Check every row (errors with line numbers); write nothing unless all are valid, then write all
    of them in one transaction. Rows that match what is already there are counted, not written again."""
    report = Report(file.kind, len(file.rows), file.sha256)
    planned = await _CHECKS[file.kind](file.rows, report, progress)
    if not report.ok or dry_run or report.replayed:
        return report

    async def write() -> None:
        if file.kind == "stock":
            result = await _stock.apply(planned, report, file.name, actor.label)
            report.replayed = result.replayed
            report.created = 0 if result.replayed else len(result.movement_ids)
        else:
            report.created = await _WRITES[file.kind](planned, progress)
        await audit.record(actor, f"catalog.import_{file.kind}", "import", file.sha256[:16],
                           after={"file": file.name, "rows": report.rows, "created": report.created,
                                  "unchanged": report.unchanged, "sha256": file.sha256})

    progress("writing", 0, len(planned))
    if before_write is not None:
        await before_write()
    await db.run_in_transaction(write)
    progress("done", len(file.rows), len(file.rows))
    return report
