"""Typed domain errors. Messages are written for the person holding the scanner.

The HTTP layer maps each class to a status in one place (backend/http/errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, object]:
        return {}


class InvalidInput(DomainError):
    """The request itself is wrong (quantity, missing reason code, bad check digit...)."""

    code = "invalid_input"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class InvalidBarcode(InvalidInput):
    code = "invalid_barcode"


class PalletLabel(InvalidBarcode):
    """A well-formed SSCC label that names a logistic unit but no item (no AI 01 or 02)."""


class UnknownReference(DomainError):
    """Something the request names does not exist."""

    code = "unknown_reference"


class UnknownItem(UnknownReference):
    code = "unknown_item"

    def __init__(self, sku: str) -> None:
        super().__init__(f"No item with SKU {sku!r}. Check the label or look the item up.")
        self.sku = sku


class UnknownBarcode(UnknownReference):
    code = "unknown_barcode"

    def __init__(self, code: str) -> None:
        super().__init__(f"Barcode {code!r} is not known. Scan the item or bin label again.")
        self.barcode = code


class UnknownLocation(UnknownReference):
    code = "unknown_location"

    def __init__(self, code: str) -> None:
        super().__init__(f"No location {code!r}. Scan the bin label.")
        self.location = code


class UnknownReservation(UnknownReference):
    code = "unknown_reservation"

    def __init__(self, reservation_id: int) -> None:
        super().__init__(f"No open reservation #{reservation_id}.")
        self.reservation_id = reservation_id


class UnknownMovement(UnknownReference):
    code = "unknown_movement"

    def __init__(self, movement_id: int) -> None:
        super().__init__(f"No movement #{movement_id}.")


class Conflict(DomainError):
    """The request is valid but the current state does not allow it."""

    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class AlreadyReversed(Conflict):
    code = "already_reversed"


class IdempotencyConflict(DomainError):
    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency key {key!r} was already used for a different request. "
            "Use a new key for a new action."
        )


class IdempotencyKeyExpired(IdempotencyConflict):
    """The key is older than the retry window: its stored answer was compacted (ledger/retention.py)."""

    code = "idempotency_key_expired"

    def __init__(self, key: str) -> None:
        DomainError.__init__(
            self,
            f"Idempotency key {key!r} was used more than the retry window ago and its answer is no longer"
            " kept. Use a new key for a new action.",
        )


class TxnIdReused(IdempotencyConflict):
    """An offline scan id (txn_id) came back with different content: a device bug, never a retry."""

    code = "txn_id_reused"

    def __init__(self, txn_id: str) -> None:
        DomainError.__init__(
            self,
            f"Scan {txn_id} was already received with different details. Nothing was changed; "
            "ask a lead to check this scanner.",
        )
        self.txn_id = txn_id

    def details(self) -> dict[str, object]:
        return {"txn_id": self.txn_id}


@dataclass(frozen=True, slots=True)
class Availability:
    location: str
    available: int


class InsufficientStock(Conflict):
    code = "insufficient_stock"

    def __init__(
        self, sku: str, location: str, requested: int, available: int, elsewhere: list[Availability]
    ) -> None:
        where = ", ".join(f"{a.location}: {a.available}" for a in elsewhere[:5])
        message = f"Not enough {sku} in {location}: {requested} needed, {available} available."
        if where:
            message += f" Available elsewhere: {where}."
        super().__init__(message)
        self.sku = sku
        self.location = location
        self.requested = requested
        self.available = available
        self.elsewhere = elsewhere

    def details(self) -> dict[str, object]:
        return {
            "sku": self.sku,
            "location": self.location,
            "requested": self.requested,
            "available": self.available,
            "elsewhere": [{"location": a.location, "available": a.available} for a in self.elsewhere],
        }


class WrongScan(InvalidInput):
    """The picker or packer scanned a different bin or item than the task asks for."""

    code = "wrong_scan"


class NotPermitted(DomainError):
    """The person is signed in but their role may not do this (e.g. a picker approving)."""

    code = "not_permitted"


class SegregationOfDuties(NotPermitted):
    """The same person may not both do the work and approve it."""

    code = "segregation_of_duties"


class DeviceMismatch(NotPermitted):
    """A scan batch names another device than the one the session was signed in on."""

    code = "device_mismatch"


class IllegalTransition(Conflict):
    """An order event its current status does not allow (backend/domain/orders/_transitions.py)."""

    code = "illegal_transition"

    def __init__(self, message: str, *, status: str, event: str) -> None:
        super().__init__(message)
        self.status = status
        self.event = event

    def details(self) -> dict[str, object]:
        return {"order_status": self.status, "event": self.event}  # "status" is the HTTP status's name
