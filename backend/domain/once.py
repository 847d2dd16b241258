"""Catalogue and location writes done once per idempotency key, as ledger commands are.

The key is claimed in the ledger's command_log (`posting.run_once`): the same key with the same
payload answers with the thing the first request made, marked `replayed`, and writes nothing; the
same key with another payload is IdempotencyConflict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from backend import db

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    value: T
    replayed: bool = False


async def run_keyed(kind: str, payload: msgspec.Struct | dict[str, Any], *, key: str | None, actor: str,
                    work: Callable[[], Awaitable[T]], again: Callable[[Any], Awaitable[T]]) -> Outcome[T]:
    """`work()` in one transaction, once per key; a repeat gets `again(what work returned, as stored)`.
    Without a key (the key is optional for these writes) `work()` simply runs."""
    if key is None:
        return Outcome(await db.run_in_transaction(work))
    # Imported here: the ledger imports the catalogue and locations, which call this.
    from backend.domain.ledger.posting import run_once

    async def first() -> Outcome[T]:
        return Outcome(await work())

    async def replay(stored: Any) -> Outcome[T]:
        return Outcome(await again(stored["value"]), replayed=True)

    return await run_once(kind, payload, key=key, actor=actor, work=first, replay=replay)
