"""What every request must be before a handler sees it (the app's `before_request` hook).

Guards have run (401/403 come first); this refuses, through the one error mapper:
- NUL in a path parameter, query parameter or form field: 422. PostgreSQL cannot store NUL in text,
  so without this a search for "a\\x00" was a 500 there and a miss on SQLite.
- An integer path parameter outside the ids' range (`bounds.ID_MAX`): 422, not a database overflow.
- For a route that takes a JSON body (`data: JSONBody[...]`), a body that is not
  `Content-Type: application/json` (415), not JSON (400), nested deeper than `JSON_DEPTH_MAX` (400), or
  that does not match the body's type *strictly* (422). Litestar converts bodies leniently ("5", 5.0
  and 1e3 all become the integer 5); the API and the handheld's sync are exact about numbers, so the
  body is checked here against the same struct, with msgspec's strict rules, before Litestar reads it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from backend.domain import bounds
from backend.http.connection import AppRequest
from backend.http.errors import RequestRefused

JSON_DEPTH_MAX = 32
JSON_MEDIA_TYPE = "application/json"
_FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A JSON string (escapes included) and every byte that is not a bracket: what is left is the nesting.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


async def check_request(request: AppRequest) -> None:
    _check_path_and_query(request)
    data_field = request.route_handler.parsed_data_field
    media_type = request.content_type[0]
    if data_field is not None and data_field.kwarg_definition is not None \
            and getattr(data_field.kwarg_definition, "media_type", None) == JSON_MEDIA_TYPE:
        await _check_json_body(request, data_field.annotation)
    elif media_type in _FORM_MEDIA_TYPES:
        form = await request.form()  # parsed once: the handler reads the same form
        for name, value in form.multi_items():
            if isinstance(value, str):
                _refuse_nul(value, f"The form field {name!r}")


def _check_path_and_query(request: AppRequest) -> None:
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _refuse_nul(value, f"The path parameter {name!r}")
        elif isinstance(value, int) and not -bounds.ID_MAX <= value <= bounds.ID_MAX:
            raise RequestRefused(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_input",
                                 f"The path parameter {name!r} is out of range (at most {bounds.ID_MAX}).")
    for name, value in request.query_params.multi_items():
        _refuse_nul(name + value, f"The query parameter {name!r}")


def _refuse_nul(value: str, what: str) -> None:
    if "\x00" in value:
        raise RequestRefused(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_input",
                             f"{what} contains a NUL character, which cannot be stored or searched for.")


async def _check_json_body(request: AppRequest, body_type: Any) -> None:
    if request.content_type[0] != JSON_MEDIA_TYPE:
        raise RequestRefused(HTTP_415_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                             "Send the body as JSON with the header 'Content-Type: application/json'.")
    body = await request.body()
    if nested_deeper_than(body, JSON_DEPTH_MAX):
        raise RequestRefused(HTTP_400_BAD_REQUEST, "json_too_deep",
                             f"The JSON body is nested more than {JSON_DEPTH_MAX} levels deep.")
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:  # a DecodeError too: caught first
        field, sentence = bounds.explain(exc)
        code = "invalid_quantity" if bounds.is_quantity_range_error(field, sentence) else "validation_error"
        message = f"{field}: {sentence}." if field else f"The request body {sentence}."
        raise RequestRefused(HTTP_422_UNPROCESSABLE_ENTITY, code, message,
                             fields=[{"field": field, "source": "body", "message": sentence}]) from exc
    except msgspec.DecodeError as exc:
        raise RequestRefused(HTTP_400_BAD_REQUEST, "malformed_json", "The request body is not valid JSON.") from exc


def nested_deeper_than(body: bytes, depth_max: int) -> bool:
    """Whether the JSON text nests arrays/objects more than `depth_max` deep, found without parsing
    (a parser recurses, and 1,000 levels overflow its stack): strings are dropped, then each pass
    removes the innermost `[]`/`{}` pairs, one level per pass."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(depth_max):
        brackets, removed = _INNERMOST_PAIR.subn(b"", brackets)
        if not removed:  # nothing left, or unbalanced: the JSON parser reports that
            return False
    return _INNERMOST_PAIR.search(brackets) is not None
