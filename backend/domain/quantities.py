"""Quantities are integers in the item's base unit; conversions happen at the edge."""

from __future__ import annotations

from backend.domain.errors import InvalidQuantity

# Fits comfortably in BIGINT even after summing millions of movements.
QTY_MAX = 1_000_000_000


def require_qty(value: object, what: str = "Quantity") -> int:
    """Return a positive integer quantity or raise InvalidQuantity (bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{what} must be a whole number, got {value!r}.")
    if value <= 0:
        raise InvalidQuantity(f"{what} must be at least 1, got {value}.")
    if value > QTY_MAX:
        raise InvalidQuantity(f"{what} {value} is too large (at most {QTY_MAX:,}).")
    return value


def to_base_units(qty: int, factor: int, unit: str) -> int:
    base = require_qty(qty) * factor
    if base > QTY_MAX:
        raise InvalidQuantity(f"{qty} {unit} is {base:,} units, more than the {QTY_MAX:,} allowed.")
    return base
