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

from backend.domain.auth.audit import Actor
from backend.domain.errors import InvalidInput
from backend.domain.ledger import posting
from backend.domain.ledger.posting import IDEMPOTENCY_KEY_LENGTH_MAX, check_key

T = TypeVar("T")

_SUFFIX_LENGTH_MAX = 24
KEY_LENGTH_MAX = IDEMPOTENCY_KEY_LENGTH_MAX - _SUFFIX_LENGTH_MAX


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
    """Run `work` in one transaction unless `key` already ran; then return `replay()` (the current
    state) instead. The same key with a different payload raises IdempotencyConflict."""
    check_fulfillment_key(key)

    async def current_state(_: Any) -> T:
        return await replay()

    return await posting.run_once(f"fulfillment.{kind}", payload, key=key, actor=actor.label, work=work,
                                  replay=current_state)
