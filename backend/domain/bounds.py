"""Bounds of every value that comes from outside, kept in its type.

A request struct's fields use these `Annotated` types, so msgspec refuses an out-of-range number, an
over-long string or a control character where the value enters (the API's strict JSON check, the
sync envelope reader, `checked()` for structs built in Python), and the OpenAPI document states the
same bounds. Nothing past the boundary has to guess whether PostgreSQL can store a value:

- PostgreSQL cannot store NUL in text at all (SQLite can): NUL is refused in every string.
- Codes and names are one line without control characters. Free text (a reason) may not hold NUL;
  a scanned string may hold GS (0x1D), the separator of GS1 element strings.
- Integers stay inside their columns: ids in BIGINT, sequence numbers and counters in INTEGER.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

import msgspec

from backend.domain.errors import InvalidInput, InvalidQuantity
from backend.domain.quantities import QTY_MAX

# Ids live in BIGINT columns. 2^53 - 1 is also the largest integer a browser (and the OpenAPI
# document, whose bounds are floats) holds exactly; no table gets near it.
ID_MAX = 2**53 - 1
INT32_MAX = 2**31 - 1  # INTEGER columns: walk order, device counters
# unit cost × QTY_MAX must still fit in BIGINT (count variances are valued that way).
UNIT_COST_CENTS_MAX = 1_000_000_000

NAME_LENGTH_MAX = 200  # item and location names
TEXT_LENGTH_MAX = 500  # a reason or note typed by a person
UNIT_LENGTH_MAX = 32
LOT_LENGTH_MAX = 64
REFERENCE_LENGTH_MAX = 128  # order and document references
LIST_LENGTH_MAX = 100  # units, barcodes, components of one item
VARIANT_ATTRS_MAX = 20

# JSON Schema and Python agree on these escapes, so the OpenAPI document carries the same rule.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # no control characters at all
NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_LENGTH_MAX, pattern=ONE_LINE)]
OptionalName = Annotated[str, msgspec.Meta(max_length=NAME_LENGTH_MAX, pattern=ONE_LINE)]
Text = Annotated[str, msgspec.Meta(max_length=TEXT_LENGTH_MAX, pattern=NO_NUL)]
Unit = Annotated[str, msgspec.Meta(min_length=1, max_length=UNIT_LENGTH_MAX, pattern=ONE_LINE)]
OptionalUnit = Annotated[str, msgspec.Meta(max_length=UNIT_LENGTH_MAX, pattern=ONE_LINE)]
Lot = Annotated[str, msgspec.Meta(max_length=LOT_LENGTH_MAX, pattern=ONE_LINE)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_LENGTH_MAX, pattern=ONE_LINE)]
Reference = Annotated[str, msgspec.Meta(max_length=REFERENCE_LENGTH_MAX, pattern=ONE_LINE)]

Qty = Annotated[int, msgspec.Meta(ge=1, le=QTY_MAX)]
SignedQty = Annotated[int, msgspec.Meta(ge=-QTY_MAX, le=QTY_MAX)]
Id = Annotated[int, msgspec.Meta(ge=1, le=ID_MAX)]
Count32 = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]

QUANTITY_FIELDS = ("qty", "delta", "factor")
# msgspec quotes a pattern with its backslashes doubled.
_PATTERN_WORDS = {
    ONE_LINE.replace("\\", "\\\\"): "must not contain control characters (such as NUL, tab or a line break)",
    NO_NUL.replace("\\", "\\\\"): "must not contain NUL characters",
}
_AT = re.compile(r" - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`$")
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Expected `(?:int|float)` >= (?P<n>-?\d+)$"), "must be at least {n}"),
    (re.compile(r"^Expected `(?:int|float)` <= (?P<n>-?\d+)$"), "must be at most {n}"),
    (re.compile(r"^Expected `str` of length >= 1$"), "must not be empty"),
    (re.compile(r"^Expected `str` of length >= (?P<n>\d+)$"), "must be at least {n} characters long"),
    (re.compile(r"^Expected `str` of length <= (?P<n>\d+)$"), "must be at most {n} characters long"),
    (re.compile(r"^Expected `(?:array|object)` of length >= (?P<n>\d+)$"), "must have at least {n} entries"),
    (re.compile(r"^Expected `(?:array|object)` of length <= (?P<n>\d+)$"), "must have at most {n} entries"),
    (re.compile(r"^Expected `int`, got `float`$"), "must be a whole number written as one (5, not 5.0 or 1e3)"),
    (re.compile(r"^Expected `int`, got `str`$"), "must be a number, not a string"),
    (re.compile(r"^Expected `int`, got `bool`$"), "must be a number, not true or false"),
]


def explain(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(field, sentence) for msgspec's first validation error: `("lines[0].qty", "must be at least 1")`."""
    text = str(exc)
    at = _AT.search(text)
    path = at["path"].lstrip(".") if at else ""
    problem = text[: at.start()] if at else text
    if at and at["key"]:
        path = f"{path} (a key)"
    if m := re.match(r"^Object contains unknown field `(?P<f>\w+)`$", problem):
        return _join(path, m["f"]), "is not a field of this request"
    if m := re.match(r"^Object missing required field `(?P<f>\w+)`$", problem):
        return _join(path, m["f"]), "is required"
    return path, describe(problem)


def describe(problem: str) -> str:
    """msgspec's "Expected `int` >= 1" as "must be at least 1" (unknown wordings pass through)."""
    if m := re.match(r"^Expected `str` matching regex '(?P<p>.*)'$", problem):
        return _PATTERN_WORDS.get(m["p"], f"must match {m['p']}")
    for rule, words in _RULES:
        if m := rule.match(problem):
            return words.format(**m.groupdict())
    return problem


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def is_quantity_range_error(field: str, sentence: str) -> bool:
    """An out-of-range quantity (0, -1, 10^30) is `invalid_quantity`; a wrong type stays a plain
    validation error, as it was before the bounds moved into the types."""
    name = field.rsplit(".", 1)[-1]
    return name in QUANTITY_FIELDS and sentence.startswith(("must be at least", "must be at most"))


S = TypeVar("S", bound=msgspec.Struct)


def checked(value: S, what: str) -> S:
    """Validate a struct built in Python against its own bounds (msgspec checks nothing on __init__),
    so a caller other than the JSON API (a screen, a job, an import) meets the same rules."""
    try:
        return msgspec.convert(msgspec.to_builtins(value), type(value), strict=True)
    except msgspec.ValidationError as exc:
        field, sentence = explain(exc)
        error = InvalidQuantity if field.rsplit(".", 1)[-1] in QUANTITY_FIELDS else InvalidInput
        raise error(f"{what}: {field} {sentence}." if field else f"{what}: {sentence}.") from exc
