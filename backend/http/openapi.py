"""What the OpenAPI document says about errors and headers, shared by every `/api/v1` operation.

Every error body is `{"error": {"code", "message", ...}}` (backend/http/errors.py); each operation
lists the statuses it can really answer with, so a client (or schemathesis) can trust the document.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter

from backend.domain.idempotency import IDEMPOTENCY_KEY_LENGTH_MAX


class ErrorDetail(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(description="Stable machine-readable code, e.g. insufficient_stock")]
    message: Annotated[str, msgspec.Meta(description="A sentence for the person using the integration")]
    # Some codes add fields: `fields` (validation), `requested`/`available`/`elsewhere` (stock)...


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


_MEANINGS = {
    400: "The request cannot be read: malformed or too deeply nested JSON (more than 32 levels), a missing or "
         "over-long Idempotency-Key, or a query parameter out of its bounds",
    401: "No API token, or one that is not valid or was revoked",
    403: "The token is read-only and this is a write",
    404: "Nothing by the name given in the path (or in a sku/location filter)",
    409: "Not enough stock (the body says where there is some), or someone else changed the same thing at the "
         "same time",
    413: "The request body is larger than the server accepts",
    415: "The body is not sent as 'Content-Type: application/json'",
    422: "The request is well-formed but not acceptable: a value out of its bounds (see the schema), a NUL "
         "character anywhere, an unknown reference, or an Idempotency-Key reused for a different request",
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    return {s: ResponseSpec(data_container=ErrorBody, description=_MEANINGS[s], generate_examples=False)
            for s in statuses}


READ_LIST = errors(400, 401, 422)
READ_FILTERED = errors(400, 401, 404, 422)  # a sku/location filter must name something that exists
READ_ONE = errors(400, 401, 404, 422)
WRITE = errors(400, 401, 403, 409, 413, 415, 422)
WRITE_UNDER = errors(400, 401, 403, 404, 409, 413, 415, 422)  # a write under a path that must exist

QUERY_TEXT_LENGTH_MAX = 200
ID_CURSOR_DIGITS_MAX = 15  # below bounds.ID_MAX: a cursor is an id
Q = Annotated[str, QueryParameter(max_length=QUERY_TEXT_LENGTH_MAX)]
IdCursor = Annotated[str, QueryParameter(max_length=ID_CURSOR_DIGITS_MAX, pattern=r"^[0-9]*$",
                                         description="next_cursor of the previous page")]

_KEY_HELP = ("Client-made unique key for this action (printable characters). The same key with the same body "
             "answers with the first result and writes nothing; with a different body it is refused with 422.")
IdempotencyKey = Annotated[
    str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_LENGTH_MAX,
                         description=_KEY_HELP)
]
OptionalIdempotencyKey = Annotated[
    str | None, HeaderParameter(name="Idempotency-Key", required=False, min_length=1,
                                max_length=IDEMPOTENCY_KEY_LENGTH_MAX, description=_KEY_HELP)
]
REPLAYED = [ResponseHeader(name="Idempotent-Replayed", description="'true' when this answers a retry",
                           documentation_only=True)]
