"""Ledger commands on behalf of a signed-in person: the command and its audit row commit together."""

from __future__ import annotations

from typing import Any

from backend.domain.auth import audit
from backend.domain.ledger._onetrip import AuditNote
from backend.domain.ledger.commands import Command, execute
from backend.domain.ledger.posting import CommandResult


async def execute_as(command: Command, *, key: str, actor: audit.Actor,
                     note: dict[str, Any] | None = None) -> CommandResult:
    # The audit row is part of the command: on PostgreSQL the same statement writes both (no BEGIN,
    # SAVEPOINT or COMMIT of its own); in-process, the command's own transaction (or savepoint) holds both.
    return await execute(command, key=key, actor=actor.label, audited=AuditNote(actor, note))
