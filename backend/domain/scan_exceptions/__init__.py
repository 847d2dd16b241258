"""Scans the books cannot take as they were, and what managers do about them.

A handheld's scan is a fact on the floor: when the ledger lacks the stock a scan took, the scan is
kept with found stock and a count of the bin (`with_found_stock`); that, or a state conflict (a line
already picked, a count already submitted), opens an exception for a manager (`open_exception`), who
resolves it from the tablet (`resolve_exception`). The sync adapter (sync/) applies offline and
online scans through these; the policy is here. Protocol: docs/offline-protocol.md.
"""

from backend.domain.scan_exceptions._found_stock import (
    OFFLINE_CONFLICT,
    Compensation,
    ScanContext,
    Spot,
    with_found_stock,
)
from backend.domain.scan_exceptions._review import (
    SyncExceptionView,
    get_exception,
    open_exception,
    open_exceptions,
    resolve_exception,
)

__all__ = [
    "OFFLINE_CONFLICT",
    "Compensation",
    "ScanContext",
    "Spot",
    "SyncExceptionView",
    "get_exception",
    "open_exception",
    "open_exceptions",
    "resolve_exception",
    "with_found_stock",
]
