"""Amounts in minor currency units (cents), as typed and shown by people in major units (2.50 EUR)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from backend.domain.errors import InvalidInput

# ISO 4217 currencies whose minor unit is not the cent; every other one has 2 decimals.
_DECIMALS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "HUF": 2, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3,
             "TND": 3}


def decimals_of(currency: str) -> int:
    return _DECIMALS.get(currency.upper(), 2)


def format_minor(minor: int, currency: str) -> str:
    places = decimals_of(currency)
    return f"{Decimal(minor).scaleb(-places):,.{places}f} {currency}"


def parse_major(text: str, currency: str) -> int:
    """'2.50' EUR → 250; refuses more decimals than the currency has, and negative amounts."""
    places = decimals_of(currency)
    try:
        amount = Decimal(text.strip().replace(",", "") or "0")
    except InvalidOperation as exc:
        raise InvalidInput(f"Price {text!r} is not an amount: type it like 2.50.") from exc
    minor = amount.scaleb(places)
    if not amount.is_finite() or amount < 0 or minor != minor.to_integral_value():
        raise InvalidInput(f"Price {text!r}: a positive amount with at most {places} decimals in {currency}.")
    return int(minor)
