"""A purchase order's lifecycle in one place: its statuses, every allowed transition, and the one
function that changes the status (guarded UPDATE + audit row, in the caller's transaction).

    draft → sent → partially_received → received → closed
    draft / sent → cancelled (never once anything was received)
    partially_received → closed (the rest will not come: the manager accepts the shortfall)
    received → partially_received → sent (a receipt against it was reversed: it did not arrive after all)

`receive_part` / `receive_all` are not a person's action: a receipt against the order moves it
(_receipts.py), on the online screen and on the offline replay path alike; `unreceive_part` /
`unreceive_all` neither: the reversal of such a receipt moves it back, in the reversal's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from backend import db
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import Conflict, IllegalTransition

PoStatus = Literal["draft", "sent", "partially_received", "received", "closed", "cancelled"]
PoEvent = Literal["send", "receive_part", "receive_all", "unreceive_part", "unreceive_all", "close", "cancel"]
PO_STATUSES: tuple[PoStatus, ...] = get_args(PoStatus)

TRANSITIONS: dict[tuple[PoStatus, PoEvent], PoStatus] = {
    ("draft", "send"): "sent",
    ("draft", "cancel"): "cancelled",
    ("sent", "cancel"): "cancelled",
    ("sent", "receive_part"): "partially_received",
    ("sent", "receive_all"): "received",
    ("partially_received", "receive_all"): "received",
    ("received", "unreceive_part"): "partially_received",
    ("received", "unreceive_all"): "sent",
    ("partially_received", "unreceive_all"): "sent",
    ("partially_received", "close"): "closed",
    ("received", "close"): "closed",
}

_EVENT_WORDS: dict[PoEvent, str] = {
    "send": "sent", "receive_part": "received", "receive_all": "received", "unreceive_part": "moved back",
    "unreceive_all": "moved back", "close": "closed",
    "cancel": "cancelled",
}
_BACK: tuple[PoEvent, ...] = ("unreceive_part", "unreceive_all")
# The stamp each target status sets (the schema's CHECKs hold these together).
_STAMPS: dict[PoStatus, str] = {"sent": "sent_at", "closed": "closed_at", "cancelled": "cancelled_at"}


def statuses_allowing(event: PoEvent) -> tuple[PoStatus, ...]:
    return tuple(s for s in PO_STATUSES if (s, event) in TRANSITIONS)


# Stock still to arrive on these orders counts as on order; receipts may be posted against them.
OPEN: tuple[PoStatus, ...] = ("sent", "partially_received")
RECEIVABLE: tuple[PoStatus, ...] = ("sent", "partially_received", "received")
CANCELLABLE = statuses_allowing("cancel")
CLOSABLE = statuses_allowing("close")
assert set(OPEN) <= set(RECEIVABLE)
assert not any(s in ("closed", "cancelled") for (s, _) in TRANSITIONS), "closed and cancelled are final"


def status_words(status: PoStatus) -> str:
    return status.replace("_", " ")


def next_status(current: PoStatus, event: PoEvent, number: str) -> PoStatus:
    target = TRANSITIONS.get((current, event))
    if target is None:
        raise IllegalTransition(f"Purchase order {number} is {status_words(current)}: it cannot be "
                                f"{_EVENT_WORDS[event]}.", status=current, event=event)
    return target


async def transition(po_id: int, number: str, from_status: PoStatus, event: PoEvent, *, actor: Actor,
                     extra: dict[str, Any] | None = None) -> PoStatus:
    """Move one order along `event` inside the caller's transaction; `extra` columns are set with it.
    The UPDATE is guarded on `from_status`: a status changed meanwhile is a Conflict, never overwritten."""
    assert db.engine().transaction_exists(), "a status change commits with the work that caused it"
    to = next_status(from_status, event, number)
    now = datetime.now(UTC)
    sets: dict[str, Any] = {"status": to, "updated_at": now, **(extra or {})}
    if to in _STAMPS and event not in _BACK:  # moved back to sent, it keeps the day it was sent
        sets.setdefault(_STAMPS[to], now)
    assignments = ", ".join(f"{column} = {{}}" for column in sets)
    updated = await db.fetch(f"UPDATE purchase_orders SET {assignments} WHERE id = {{}} AND status = {{}} RETURNING id",
                             *sets.values(), po_id, from_status)
    if not updated:
        raise Conflict(f"Purchase order {number} changed while you worked. Reload it and try again.")
    after = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in sets.items() if k != "updated_at"}
    await audit.record(actor, f"purchase_order.{event}", "purchase_order", po_id, {"status": from_status}, after)
    return to
