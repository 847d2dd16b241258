"""API tokens for integrations: shown once, stored as a SHA-256 hash.

Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching needed);
lookups are by hash, so the plaintext never reaches the database or the logs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from backend import db
from backend.domain.errors import InvalidInput

TOKEN_PREFIX = "stl_"
SCOPES = ("read", "write")
NAME_LENGTH_MAX = 80


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    scope: Literal["read", "write"]  # the api_tokens CHECK

    def allows(self, needed: str) -> bool:
        return needed == "read" or self.scope == "write"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(name: str, scope: str) -> str:
    """Create a token and return its plaintext (the only time it is available)."""
    if scope not in SCOPES:
        raise InvalidInput(f"Scope must be one of {', '.join(SCOPES)}, got {scope!r}.")
    if not name.strip() or len(name) > NAME_LENGTH_MAX:
        raise InvalidInput(f"Token name must be 1–{NAME_LENGTH_MAX} characters.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    async def work() -> None:
        await db.fetch(
            "INSERT INTO api_tokens (name, scope, token_hash, prefix, created_at) VALUES ({}, {}, {}, {}, {})",
            name.strip(), scope, _digest(token), token[:10], datetime.now(UTC),
        )

    await db.run_in_transaction(work)
    return token


async def verify_token(token: str) -> TokenView | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return await db.fetch_one_as(
        TokenView, "SELECT id, name, scope FROM api_tokens WHERE token_hash = {} AND revoked_at IS NULL", _digest(token)
    )
