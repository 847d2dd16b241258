"""Reading a catalogue CSV: which kind of file it is, its rows with their line numbers, its hash."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from backend.domain.errors import InvalidInput

FileKind = Literal["items", "barcodes", "locations", "stock"]
KINDS: tuple[FileKind, ...] = get_args(FileKind)
FILE_BYTES_MAX = 8 * 1024 * 1024  # ~100,000 item rows; under the web app's 10 MB request limit
ROWS_MAX = 100_000
ERRORS_KEPT_MAX = 500  # a report lists this many; the total is still counted
VALUE_LENGTH_MAX = 256

# (required, optional) columns of each kind. A header names the kind: the one whose required columns
# it has and whose columns include all of it.
COLUMNS: dict[FileKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "items": (("sku", "name"), ("base_unit", "case_pack", "units", "lot_tracked", "serial_tracked",
                                "unit_cost_cents")),
    "barcodes": (("sku", "barcode"), ("unit",)),
    "locations": (("code", "kind"), ("parent", "name", "barcode", "walk_seq")),
    "stock": (("sku", "location", "qty"), ("unit", "lot", "expiry")),
}

Progress = Callable[[str, int, int], None]  # (phase, rows done, rows total)


def no_progress(phase: str, done: int, total: int) -> None:
    pass


class InvalidFile(InvalidInput):
    """The file as a whole cannot be read (encoding, header, size); no row was checked."""

    code = "invalid_file"


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # where the row starts in the file (the header is line 1)
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class Report:
    """What an import found or did. `errors` non-empty means nothing was written."""

    kind: FileKind
    rows: int
    sha256: str
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    created: int = 0
    unchanged: int = 0  # rows that match what is already there (a re-import changes nothing)
    replayed: bool = False  # the same stock file was posted before: nothing posted again

    @property
    def ok(self) -> bool:
        return self.errors_total == 0

    def add_error(self, line: int, message: str) -> None:
        self.errors_total += 1
        if len(self.errors) < ERRORS_KEPT_MAX:
            self.errors.append(RowError(line, message))

    def summary(self) -> str:
        if not self.ok:
            return (f"{self.errors_total} of {self.rows} row(s) have errors; nothing was imported. "
                    "Fix them and import the whole file again.")
        if self.replayed:
            return f"This {self.kind} file was imported before (same content): nothing was posted again."
        what = "posted as opening stock" if self.kind == "stock" else "created"
        return f"{self.rows} {self.kind} row(s): {self.created} {what}, {self.unchanged} already there."


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    kind: FileKind
    rows: list[Row]
    sha256: str
    name: str = ""


def _header(raw: list[str]) -> list[str]:
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in raw]
    seen = [n for i, n in enumerate(names) if n in names[:i]]
    if seen:
        raise InvalidFile(f"Column {seen[0]!r} appears twice in the header.")
    if "" in names:
        raise InvalidFile("The header has an empty column name.")
    return names


def detect_kind(columns: list[str]) -> FileKind:
    fits = [k for k, (required, optional) in COLUMNS.items()
            if set(required) <= set(columns) and set(columns) <= set(required) | set(optional)]
    if len(fits) == 1:
        return fits[0]
    expected = "; ".join(f"{k}: {', '.join(r)} (+ {', '.join(o)})" for k, (r, o) in COLUMNS.items())
    raise InvalidFile(f"The header ({', '.join(columns)}) is not one of the known files. Columns: {expected}.")


def _check_columns(kind: FileKind, columns: list[str]) -> None:
    required, optional = COLUMNS[kind]
    missing = [c for c in required if c not in columns]
    unknown = [c for c in columns if c not in required and c not in optional]
    if missing:
        raise InvalidFile(f"A {kind} file needs the column(s) {', '.join(missing)}.")
    if unknown:
        raise InvalidFile(f"Unknown column(s) for a {kind} file: {', '.join(unknown)} "
                          f"(known: {', '.join(required + optional)}).")


def _decode(content: bytes) -> str:
    if len(content) > FILE_BYTES_MAX:
        raise InvalidFile(f"The file is larger than {FILE_BYTES_MAX // (1024 * 1024)} MB; split it.")
    try:
        return content.decode("utf-8-sig")  # a spreadsheet's UTF-8 export starts with a BOM
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"The file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8.") from exc


def read_file(content: bytes, kind: FileKind | None = None, name: str = "") -> CatalogueFile:
    """Parse a CSV; the kind is `kind` when given, else told by its header."""
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    try:
        first = next(reader, None)
        if first is None:
            raise InvalidFile("The file is empty.")
        columns = _header(first)
        kind = kind or detect_kind(columns)
        _check_columns(kind, columns)
        rows: list[Row] = []
        line = reader.line_num + 1
        for record in reader:
            if any(v.strip() for v in record):
                if len(rows) == ROWS_MAX:
                    raise InvalidFile(f"The file has more than {ROWS_MAX:,} rows; split it.")
                rows.append(_row(line, columns, record))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidFile(f"line {reader.line_num}: not valid CSV ({exc}).") from exc
    return CatalogueFile(kind, rows, hashlib.sha256(content).hexdigest(), name)


def _row(line: int, columns: list[str], record: list[str]) -> Row:
    values = dict(zip(columns, record, strict=False))
    if len(record) > len(columns):
        values["\0extra"] = ",".join(record[len(columns):])
    return Row(line, values)


def row_shape_error(row: Row) -> str | None:
    if "\0extra" in row.values:
        return "has more values than the header has columns"
    long = [c for c, v in row.values.items() if len(v) > VALUE_LENGTH_MAX]
    if long:
        return f"{long[0]} is longer than {VALUE_LENGTH_MAX} characters"
    return None


def parse_bool(value: str, column: str) -> bool:
    v = value.strip().lower()
    if v in ("", "0", "false", "no", "n"):
        return False
    if v in ("1", "true", "yes", "y"):
        return True
    raise InvalidInput(f"{column} must be yes or no, got {value!r}")


def parse_int(value: str, column: str, *, minimum: int, default: int | None = None) -> int:
    v = value.strip()
    if v == "" and default is not None:
        return default
    if not v.lstrip("-").isdigit():
        raise InvalidInput(f"{column} must be a whole number, got {value!r}")
    number = int(v)
    if number < minimum:
        raise InvalidInput(f"{column} must be at least {minimum}, got {number}")
    return number
