"""Pure fulfillment rules: limits, input checks and document codes. No I/O."""

from __future__ import annotations

from backend.domain.errors import InvalidInput

ORDER_REF_LENGTH_MAX = 64
ORDER_LINES_MAX = 200
PICK_LIST_ORDERS_MAX = 50
CARRIER_LENGTH_MAX = 64
TRACKING_LENGTH_MIN = 4
TRACKING_LENGTH_MAX = 40
SHORT_REASONS = ("empty_bin", "damaged", "not_found")
CARTON_CODE_PREFIX = "CTN-"
PICK_LIST_CODE_PREFIX = "PL-"
_CODE_DIGITS = 6


def check_order_ref(ref: str) -> str:
    cleaned = ref.strip()
    if not cleaned or len(cleaned) > ORDER_REF_LENGTH_MAX or not cleaned.isprintable() or " " in cleaned:
        raise InvalidInput(f"Order number must be 1–{ORDER_REF_LENGTH_MAX} characters without spaces, got {ref!r}.")
    return cleaned


def order_ref_key(ref: str) -> str:
    """Order numbers are matched case-insensitively: a typed 'so-1' finds 'SO-1'."""
    return ref.strip().casefold()


def check_carrier(carrier: str) -> str:
    cleaned = carrier.strip()
    if not cleaned:
        raise InvalidInput("Enter the carrier (for example UPS or DHL).")
    if len(cleaned) > CARRIER_LENGTH_MAX or not cleaned.isprintable():
        raise InvalidInput(f"Carrier name must be at most {CARRIER_LENGTH_MAX} printable characters.")
    return cleaned


def check_tracking(tracking: str) -> str:
    cleaned = tracking.strip()
    if not cleaned:
        raise InvalidInput("Scan or enter the tracking number.")
    length_ok = TRACKING_LENGTH_MIN <= len(cleaned) <= TRACKING_LENGTH_MAX
    # isascii(): str.isalnum() alone also accepts letters and digits of other scripts.
    if not (length_ok and cleaned.isascii() and cleaned.isalnum()):
        raise InvalidInput(
            f"Tracking number must be {TRACKING_LENGTH_MIN}–{TRACKING_LENGTH_MAX} letters and digits,"
            f" got {tracking!r}. Scan the carrier label again."
        )
    return cleaned


def check_short_reason(reason: str) -> str:
    cleaned = reason.strip()
    if cleaned not in SHORT_REASONS:
        raise InvalidInput(f"Choose why the pick is short: one of {', '.join(SHORT_REASONS)}.")
    return cleaned


def carton_code(carton_id: int) -> str:
    assert carton_id > 0, carton_id
    return f"{CARTON_CODE_PREFIX}{carton_id:0{_CODE_DIGITS}d}"


def pick_list_code(pick_list_id: int) -> str:
    assert pick_list_id > 0, pick_list_id
    return f"{PICK_LIST_CODE_PREFIX}{pick_list_id:0{_CODE_DIGITS}d}"
