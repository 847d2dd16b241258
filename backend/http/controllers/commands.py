"""POST endpoints for ledger commands: one route per command, all built the same way.

Every write needs an `Idempotency-Key` header: a retry with the same key and body returns the
first result (header `Idempotent-Replayed: true`), nothing is posted twice. Keys are the token's own:
the ledger stores them as `api:{token_id}:{key}`, so two integrations never collide.
"""

import msgspec
from litestar import Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from backend.domain.ledger import commands as c
from backend.domain.ledger.audited import execute_as
from backend.http import openapi
from backend.http.connection import AppRequest
from backend.http.guards import actor_of, api_key, require_write


class CommandAnswer(msgspec.Struct):
    idempotency_key: str  # as the client sent it
    kind: str
    movement_ids: list[int]
    reservation_ids: list[int]
    replayed: bool


def _command_route(path: str, command_type: type, name: str, summary: str) -> HTTPRouteHandler:
    async def handler(request: AppRequest, data: JSONBody[command_type],  # type: ignore[valid-type]  # one route per command type
                      idempotency_key: openapi.IdempotencyKey) -> Response[CommandAnswer]:
        result = await execute_as(data, key=api_key(request, idempotency_key), actor=actor_of(request))
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        answer = CommandAnswer(idempotency_key, result.kind, result.movement_ids, result.reservation_ids,
                               result.replayed)
        return Response(answer, status_code=201, headers=headers)

    handler.__name__ = name
    return post(path, name=name, guards=[require_write], summary=summary, tags=["ledger"], responses=openapi.WRITE,
                response_headers=openapi.REPLAYED)(handler)


COMMAND_ROUTES = [
    _command_route("/movements/receive", c.Receive, "receive", "Receive stock from a supplier into a bin"),
    _command_route("/movements/move", c.Move, "move", "Move stock between bins"),
    _command_route("/movements/adjust", c.Adjust, "adjust", "Adjust stock up or down with a reason code"),
    _command_route("/movements/quarantine", c.Quarantine, "quarantine", "Put stock on hold (quarantined or damaged)"),
    _command_route("/movements/release", c.ReleaseQuarantine, "release_quarantine", "Release held stock"),
    _command_route("/movements/scrap", c.Scrap, "scrap", "Scrap stock"),
    _command_route("/movements/ship", c.Ship, "ship", "Ship stock from staging to the customer"),
    _command_route("/movements/reverse", c.Reverse, "reverse", "Post the reversal of a movement"),
    _command_route("/reservations", c.Reserve, "reserve", "Reserve stock for order lines"),
    _command_route("/reservations/release", c.ReleaseReservation, "release_reservation", "Release a reservation"),
    _command_route("/reservations/pick", c.Pick, "pick", "Pick reserved stock to staging"),
]
