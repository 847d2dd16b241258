"""Catalogue import and export: items (with units and case packs), barcodes, locations and opening
stock from CSV; export of the same, plus stock and movements.

Every row is checked before anything is written; errors name the line and the reason; a file with
any error writes nothing. Opening stock posts through the ledger as one command per file, keyed by
the file's content hash, so the same file never posts twice.
"""

from backend.domain.imports._export import EXPORT_KINDS, ExportKind, export_csv
from backend.domain.imports._files import (
    COLUMNS,
    FILE_BYTES_MAX,
    KINDS,
    CatalogueFile,
    FileKind,
    InvalidFile,
    Progress,
    Report,
    RowError,
    read_file,
)
from backend.domain.imports._import import import_file
from backend.domain.imports._runs import ImportRunView, UnknownImport, get_run, recent_runs, run_import, start_run
from backend.domain.imports._stock import file_key as stock_file_key

__all__ = [
    "COLUMNS", "EXPORT_KINDS", "FILE_BYTES_MAX", "KINDS", "CatalogueFile", "ExportKind", "FileKind", "ImportRunView",
    "InvalidFile", "Progress", "Report", "RowError", "UnknownImport", "export_csv", "get_run", "import_file",
    "read_file", "recent_runs", "run_import", "start_run", "stock_file_key",
]
