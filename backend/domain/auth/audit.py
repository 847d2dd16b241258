"""Audit trail: every state-changing action writes who, what, when, device, before/after.

Call `record()` inside the same transaction as the change it describes, so an action and its
audit row commit (or roll back) together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend import db

AUDIT_PAGE_MAX = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it and on which device; `label` is what the ledger records as the actor."""

    label: str
    device: str = ""
    user_id: int | None = None
    role: str = ""


SYSTEM = Actor("system")  # set-up done by Stockline itself (migrations, demo seed, tests)


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    return json.dumps(value, sort_keys=True, default=str)


async def record(actor: Actor, action: str, entity: str = "", entity_id: object = "",
                 before: Any = None, after: Any = None) -> None:
    assert db.engine().transaction_exists(), "audit rows are written inside the action's transaction"
    await db.fetch(
        "INSERT INTO audit_log (at, actor, device, action, entity, entity_id, before, after)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        datetime.now(UTC), actor.label, actor.device, action, entity, str(entity_id), _text(before), _text(after),
    )


async def recent(limit: int = 100, entity: str = "", entity_id: str = "") -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT id, at, actor, device, action, entity, entity_id, before, after FROM audit_log"
        " WHERE ({} = '' OR entity = {}) AND ({} = '' OR entity_id = {}) ORDER BY id DESC LIMIT {}",
        entity, entity, entity_id, entity_id, max(1, min(limit, AUDIT_PAGE_MAX)),
    )
