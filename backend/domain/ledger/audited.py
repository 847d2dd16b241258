"""Ledger commands on behalf of a signed-in person: the command and its audit row commit together."""

from __future__ import annotations

import msgspec

from backend import db
from backend.domain.auth import audit
from backend.domain.ledger.commands import Command, execute, kind_of
from backend.domain.ledger.posting import CommandResult


async def execute_as(command: Command, *, key: str, actor: audit.Actor, note: dict | None = None) -> CommandResult:
    async def work() -> CommandResult:
        result = await execute(command, key=key, actor=actor.label)
        if not result.replayed:
            after = {**msgspec.to_builtins(command), "movement_ids": result.movement_ids, **(note or {})}
            await audit.record(actor, f"ledger.{kind_of(command).lower()}", "command", key, after=after)
        return result

    if db.engine().transaction_exists():
        # Inside a caller's transaction the command already has its own savepoint, and a failing
        # audit row fails the caller's unit of work: a second savepoint would only cost round trips.
        return await work()
    return await db.run_in_transaction(work)
