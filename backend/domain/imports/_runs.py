"""Imports started from the tablet run as a job (in the web process, or on the worker with Redis);
their progress and outcome are rows of `import_runs`, which the tablet's import page polls."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from backend import db
from backend.domain.auth import audit
from backend.domain.errors import DomainError, UnknownReference
from backend.domain.imports._files import CatalogueFile, FileKind, InvalidFile, Report, read_file
from backend.domain.imports._import import import_file

log = structlog.get_logger("stockline.imports")
PROGRESS_EVERY_S = 0.5  # at most two progress writes a second
RECENT_RUNS_MAX = 20
RUNNING = ("queued", "validating", "applying")


class UnknownImport(UnknownReference):
    code = "unknown_import"

    def __init__(self, run_id: int) -> None:
        super().__init__(f"No import #{run_id}.")


class RowErrorView(msgspec.Struct, frozen=True):
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ImportRunView:
    id: int
    kind: str
    filename: str
    status: str
    rows_total: int
    rows_done: int
    errors: list[RowErrorView]
    errors_total: int
    summary: str
    actor: str
    created_at: Any
    finished_at: Any

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def percent(self) -> int:
        return 100 if not self.rows_total else min(100, self.rows_done * 100 // self.rows_total)


_COLUMNS = ("id, kind, filename, status, rows_total, rows_done, errors, errors_total, summary, actor, created_at,"
            " finished_at")


def _view(row: dict[str, Any]) -> ImportRunView:
    errors = msgspec.json.decode(row["errors"] or "[]", type=list[RowErrorView])
    return ImportRunView(**{**row, "errors": errors})


async def start_run(content: bytes, kind: FileKind | None, filename: str, actor: audit.Actor) -> int:
    """Record an uploaded file as a queued import (its header is read now: a file that is not a catalogue
    file is refused at once). Returns the run id for `run_import`."""
    file = read_file(content, kind, filename)

    async def work() -> int:
        row = await db.fetch_one(
            "INSERT INTO import_runs (kind, filename, sha256, content, status, rows_total, actor, created_at)"
            " VALUES ({}, {}, {}, {}, 'queued', {}, {}, {}) RETURNING id",
            file.kind, filename[:200], file.sha256, content.decode("utf-8-sig"), len(file.rows), actor.label,
            datetime.now(UTC))
        assert row is not None
        await audit.record(actor, "catalog.import_start", "import_run", row["id"], after={"file": filename,
                                                                                          "kind": file.kind})
        return int(row["id"])

    return await db.run_in_transaction(work)


async def get_run(run_id: int) -> ImportRunView:
    row = await db.fetch_one(f"SELECT {_COLUMNS} FROM import_runs WHERE id = {{}}", run_id)
    if row is None:
        raise UnknownImport(run_id)
    return _view(row)


async def recent_runs(limit: int = RECENT_RUNS_MAX) -> list[ImportRunView]:
    return [_view(r) for r in await db.fetch(f"SELECT {_COLUMNS} FROM import_runs ORDER BY id DESC LIMIT {{}}", limit)]


async def _set(run_id: int, **fields: Any) -> None:
    assigns = ", ".join(f"{name} = {{}}" for name in fields)
    await db.fetch(f"UPDATE import_runs SET {assigns} WHERE id = {{}}", *fields.values(), run_id)


class _ProgressWriter:
    """Writes the rows checked so far, at most every PROGRESS_EVERY_S (outside the import's transaction)."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.pending: tuple[str, int] | None = None
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase == "checking":
            self.pending = ("validating", done)

    async def flush(self) -> None:
        now = time.monotonic()
        if self.pending and now - self.last >= PROGRESS_EVERY_S:
            status, done = self.pending
            self.pending, self.last = None, now
            try:
                await _set(self.run_id, status=status, rows_done=done)
            except Exception as exc:  # noqa: BLE001 - progress is a courtesy; the import's outcome is what counts
                log.warning("imports.progress_not_written", run_id=self.run_id, error=type(exc).__name__)


async def run_import(run_id: int, actor: audit.Actor) -> Report | None:
    """The job: check and import a queued run. A run that is not queued (a second delivery of the job)
    is left alone. Nothing is written unless every row is valid."""
    claimed = await db.fetch("UPDATE import_runs SET status = 'validating' WHERE id = {} AND status = 'queued'"
                             " RETURNING kind, filename, content", run_id)
    if not claimed:
        return None
    kind, filename, content = claimed[0]["kind"], claimed[0]["filename"], claimed[0]["content"]
    progress = _ProgressWriter(run_id)
    try:
        file = read_file(content.encode(), kind, filename)
        report = await _import_with_progress(file, actor, progress)
    except (InvalidFile, DomainError) as exc:
        await _finish(run_id, "invalid", [{"line": 0, "message": exc.message}], 1, exc.message)
        return None
    except Exception as exc:  # recorded on the run, then raised for the job's own log
        await _finish(run_id, "failed", [], 0, f"The import failed ({type(exc).__name__}); nothing was imported.")
        raise
    errors = [{"line": e.line, "message": e.message} for e in report.errors]
    await _finish(run_id, "done" if report.ok else "invalid", errors, report.errors_total, report.summary(),
                  rows_done=report.rows)
    log.info("imports.finished", run_id=run_id, kind=kind, rows=report.rows, created=report.created,
             errors=report.errors_total, replayed=report.replayed)
    return report


async def _import_with_progress(file: CatalogueFile, actor: audit.Actor, progress: _ProgressWriter) -> Report:
    writing = asyncio.Event()

    async def before_write() -> None:
        writing.set()  # no progress write from here on: on SQLite it would wait for the import's lock
        await _set(progress.run_id, status="applying", rows_done=len(file.rows))

    task = asyncio.ensure_future(import_file(file, actor, progress, before_write=before_write))
    while not task.done():
        await asyncio.wait({task}, timeout=PROGRESS_EVERY_S)
        if not writing.is_set() and not task.done():
            await progress.flush()
    return task.result()


async def _finish(run_id: int, status: str, errors: list[dict[str, Any]], errors_total: int, summary: str,
                  rows_done: int | None = None) -> None:
    fields: dict[str, Any] = {"status": status, "errors": json.dumps(errors), "errors_total": errors_total,
                              "summary": summary, "content": "", "finished_at": datetime.now(UTC)}
    if rows_done is not None:
        fields["rows_done"] = rows_done
    await _set(run_id, **fields)
