"""One fulfillment command = one transaction, done once per idempotency key.

The key is claimed in the ledger's command_log (same table, same rules as ledger commands), so a
handheld that retries after a lost response gets the current state back instead of a second
pick. Ledger commands issued inside derive their keys from it (`f"{key}:pick"`); that is why
fulfillment keys are shorter than the ledger's limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.errors import InvalidInput
from backend.domain.ledger.posting import (
    IDEMPOTENCY_KEY_LENGTH_MAX,
    CommandResult,
    check_key,
    claim_key,
    payload_hash,
)

T = TypeVar("T")

_SUFFIX_LENGTH_MAX = 24
KEY_LENGTH_MAX = IDEMPOTENCY_KEY_LENGTH_MAX - _SUFFIX_LENGTH_MAX
# claim_key() reads the stored result back as a ledger result; ours posts through sub-keys.
_NO_DIRECT_POSTINGS = CommandResult("", "", [], []).to_json()


def check_fulfillment_key(key: str) -> str:
    check_key(key)
    if len(key) > KEY_LENGTH_MAX:
        raise InvalidInput(f"An idempotency key for this action may be at most {KEY_LENGTH_MAX} characters.")
    return key


def sub_key(key: str, suffix: str) -> str:
    """The ledger key of one posting made by the fulfillment command `key`."""
    assert len(suffix) < _SUFFIX_LENGTH_MAX, suffix
    return f"{key}:{suffix}"


async def run_once(
    kind: str,
    payload: msgspec.Struct | dict[str, Any],
    *,
    key: str,
    actor: Actor,
    work: Callable[[], Awaitable[T]],
    replay: Callable[[], Awaitable[T]],
) -> T:
    """Run `work` in one transaction unless `key` already ran; then return `replay()` instead.

    The same key with a different payload raises IdempotencyConflict. A command that failed
    rolled its claim back, so retrying it with the same key runs it again.
    """
    check_fulfillment_key(key)
    kind = f"fulfillment.{kind}"
    digest = payload_hash(kind, payload)

    async def attempt() -> T:
        if await claim_key(key, kind, digest, actor.label) is not None:
            return await replay()
        result = await work()
        await db.fetch("UPDATE command_log SET result = {} WHERE key = {}", _NO_DIRECT_POSTINGS, key)
        return result

    return await db.run_in_transaction(attempt)
