"""Idempotency keys: the one module that reads and writes `command_log`.

Every write a client, a handheld or a job can repeat runs once per key. The key is claimed in
`command_log` (its primary key) inside the command's own transaction, before the command does
anything; the command's answer is stored with it before commit. A repeat with the same kind and
payload gets the stored answer and writes nothing; the same key with another payload is
`IdempotencyConflict` (422); a key whose answer was compacted after the retry window is
`IdempotencyKeyExpired` (ledger/retention.py). A command that failed rolled its claim back with its
transaction, so retrying it runs it again. On PostgreSQL a concurrent claim of the same key waits
on the primary key until the first transaction ends, so exactly one request does the work.

One rule for keys:
* a key from outside enters in its source's namespace, `scoped_key(scope, key)`: `api:{token_id}`,
  `floor:{user_id}` (handheld and tablet forms), `sync` (a handheld scan's txn_id), `job`, `import`, `demo`;
* a command run on behalf of another takes `derived_key(parent, suffix)`, `{parent}:{suffix}` (the
  parent's digest in place of the parent when that would not fit): unique because the parent is;
* a movement's own key is `{command_key}#{leg}` (the ledger's, unique because the command's is).

The stored answer is JSON: `{"movement_ids": [...], "reservation_ids": [...]}`, with `"value"` (a
command's result, for its replay) or `"lines"` (a batch reservation) beside them; `decode_answer`.

The PostgreSQL fast path: the ledger's `stockline_post(...)` (ledger/_onetrip.py, migration m0012)
claims the key inside the one statement that posts a ledger command, because a separate claim would
be a second round trip. It follows this module's rules, and the Python side stays here: the key was
checked (`check_key`) and the payload hashed (`payload_hash`) before the call; the function inserts
the row with its answer already filled in, answers `replayed` for an earlier claim of the same kind
and hash whose answer is kept (read back by `decode_answer`), and hands everything else (another
payload, a compacted answer) back as `fallback` with nothing written, so that `claim` here raises
the error, in the same words on both databases.

A count's corrections take the same way (`stockline_settle_count`, counts/_settle.py, migration m0017):
the key, derived from the count's own key and checked here, is claimed in the statement that settles
the lines, with its answer; its payload hash is a digest of the posted lines computed there (Python never
holds the lines). A key claimed before comes back as `fallback`, and the in-process path answers it here.

A flush of one-leg commands (`stockline_post_legs`, ledger/_groupcommit.py, migration m0019) claims its
members' keys the same way, all in one INSERT: a key already in the table, or twice in the flush, is left
to `stockline_post` above, which answers `replayed` or `fallback` by these rules.

Nothing else writes `command_log` (tests/unit/test_command_log_owner.py fails if something does).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import msgspec

from backend import db
from backend.domain.errors import (
    IdempotencyConflict,
    IdempotencyKeyExpired,
    InvalidInput,
)

IDEMPOTENCY_KEY_LENGTH_MAX = 128
# A key from outside is namespaced by its source; the result stays short enough for the suffixes of
# the keys derived from it, so a derived key keeps its parent readable in nearly every case.
SCOPED_KEY_LENGTH_MAX = 96
_KEY_DIGEST_LENGTH = 40
T = TypeVar("T")
Payload = msgspec.Struct | dict[str, Any]


# --- keys ------------------------------------------------------------------------------------------------------


def check_key(key: str) -> str:
    if not key or len(key) > IDEMPOTENCY_KEY_LENGTH_MAX or not key.isprintable():
        raise InvalidInput(f"An idempotency key of 1–{IDEMPOTENCY_KEY_LENGTH_MAX} printable characters is required.")
    return key


def _digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:_KEY_DIGEST_LENGTH]


def scoped_key(scope: str, key: str) -> str:
    """A key from outside inside its source's namespace, so two sources that pick the same key never meet."""
    check_key(key)
    scoped = f"{scope}:{key}"
    # A long key would leave no room for derived suffixes; its digest is as unique.
    return scoped if len(scoped) <= SCOPED_KEY_LENGTH_MAX else f"{scope}:{_digest_of(key)}"


def derived_key(key: str, suffix: str) -> str:
    """The key of a command run on behalf of the command `key` (unique because `key` is)."""
    assert suffix and len(suffix) < IDEMPOTENCY_KEY_LENGTH_MAX - _KEY_DIGEST_LENGTH, suffix
    derived = f"{key}:{suffix}"
    return derived if len(derived) <= IDEMPOTENCY_KEY_LENGTH_MAX else f"{_digest_of(key)}:{suffix}"


def payload_hash(kind: str, payload: Payload) -> str:
    body = msgspec.json.encode(payload, order="sorted")
    return hashlib.sha256(kind.encode() + b"\0" + body).hexdigest()


# --- answers ---------------------------------------------------------------------------------------------------


class Answer(msgspec.Struct, frozen=True):
    """What the first run of a key stored for its repeats."""

    movement_ids: list[int] = []
    reservation_ids: list[int] = []
    lines: list[int | None] | None = None  # a batch reservation: per line, None where nothing was reserved
    value: Any = None  # a command's own result (msgspec builtins), for its replay


def encode_answer(movement_ids: Sequence[int] = (), reservation_ids: Sequence[int] = (), **extra: Any) -> str:
    return json.dumps({"movement_ids": list(movement_ids), "reservation_ids": list(reservation_ids), **extra})


def decode_answer(text: str) -> Answer:
    return msgspec.json.decode(text, type=Answer)


# --- claiming --------------------------------------------------------------------------------------------------

_INSERT = "INSERT INTO command_log (key, kind, payload_hash, result, actor, created_at)"


async def claim(key: str, kind: str, digest: str, actor: str) -> Answer | None:
    """Claim `key` in the caller's transaction: None when claimed now (do the work, then `record_answer`),
    else the answer of the request that claimed it (or IdempotencyConflict / IdempotencyKeyExpired)."""
    claimed = await db.fetch(f"{_INSERT} VALUES ({{}}, {{}}, {{}}, '', {{}}, {{}}) ON CONFLICT (key) DO NOTHING"
                             " RETURNING key", key, kind, digest, actor, datetime.now(UTC))
    if claimed:
        return None
    return (await _stored([key], {key: (kind, digest)}))[key]


async def claim_many(claims: Sequence[tuple[str, str, str]], actor: str,
                     now: datetime) -> tuple[set[str], dict[str, Answer]]:
    """Claim every (key, kind, payload hash) in one statement: the keys claimed now, and the stored
    answers of the others (each checked as `claim` checks one)."""
    if not claims:
        return set(), {}
    table, args = db.values_table((("key", "text"), ("kind", "text"), ("hash", "text")), list(claims))
    rows = await db.fetch(f"{_INSERT} SELECT u.key, u.kind, u.hash, '', {{}}, {{}} FROM {table} WHERE TRUE"
                          " ON CONFLICT (key) DO NOTHING RETURNING key", actor, now, *args)
    claimed = {r["key"] for r in rows}
    repeats = {key: (kind, digest) for key, kind, digest in claims if key not in claimed}
    return claimed, (await _stored(list(repeats), repeats) if repeats else {})


async def _stored(keys: list[str], expected: dict[str, tuple[str, str]]) -> dict[str, Answer]:
    marks = ", ".join("{}" for _ in keys)
    rows = await db.fetch(
        f"SELECT key, kind, payload_hash, result, compacted_at FROM command_log WHERE key IN ({marks})", *keys)
    assert len(rows) == len(keys), "a claimed key vanished"
    answers: dict[str, Answer] = {}
    for r in rows:
        if r["compacted_at"] is not None:  # past the retry window: its answer is gone
            raise IdempotencyKeyExpired(r["key"])
        if (r["kind"], r["payload_hash"]) != expected[r["key"]]:
            raise IdempotencyConflict(r["key"])
        # A claim without an answer is one made in a transaction still running; the claim above waited for
        # it on PostgreSQL, so here it is a command that claimed a key it must not (a bug, or a marker).
        if not r["result"]:
            raise IdempotencyConflict(r["key"])
        answers[r["key"]] = decode_answer(r["result"])
    return answers


async def record_answer(key: str, answer: str) -> None:
    """Store the answer of `key`, claimed in this transaction. Once: a second answer for one claim (two
    commands under one key, a bug) fails here and rolls the command back."""
    stored = await db.fetch("UPDATE command_log SET result = {} WHERE key = {} AND result = '' RETURNING key",
                            answer, key)
    assert stored, f"command {key!r} already has its answer: one command per claimed key"


async def record_answers(answers: dict[str, str]) -> None:
    """`record_answer` for many keys in one statement."""
    if not answers:
        return
    table, args = db.values_table((("key", "text"), ("result", "text")), list(answers.items()))
    stored = await db.fetch(f"UPDATE command_log SET result = u.result FROM {table}"
                            " WHERE command_log.key = u.key AND command_log.result = '' RETURNING command_log.key",
                            *args)
    assert len(stored) == len(answers), "one answer per claimed key"


async def is_claimed(key: str) -> bool:
    """Whether a command ran under `key` (committed, or claimed in this transaction)."""
    return await db.fetch_one("SELECT key FROM command_log WHERE key = {}", key) is not None


async def without_their_command(limit: int) -> list[dict[str, Any]]:
    """Movements and reservations whose command key has no command_log row (what, id, item_id,
    location_id, lot, command_key), oldest first: what the foreign keys m0018 dropped on PostgreSQL
    refused, read by the full ledger check. One pass over every movement and reservation."""
    return await db.fetch(
        "SELECT * FROM (SELECT 'movement' AS what, m.id, m.item_id, m.from_location_id AS location_id, m.lot,"
        " m.command_key FROM movements m WHERE NOT EXISTS (SELECT 1 FROM command_log c WHERE c.key = m.command_key)"
        " UNION ALL SELECT 'reservation', r.id, r.item_id, r.location_id, r.lot, r.command_key FROM reservations r"
        " WHERE NOT EXISTS (SELECT 1 FROM command_log c WHERE c.key = r.command_key)) AS o"
        " ORDER BY what, id LIMIT {}", limit)


# --- run once --------------------------------------------------------------------------------------------------


def stored_as(result_type: type[T]) -> Callable[[Any], Awaitable[T]]:
    """A replay that answers with the first result, marked `replayed` (a dataclass with that field)."""

    async def replay(value: Any) -> T:
        first = msgspec.convert(value, result_type)
        return dataclasses.replace(first, replayed=True)  # type: ignore[type-var]  # result_type is a dataclass

    return replay


def read_again(read: Callable[[], Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
    """A replay that answers with the current state (read again), not with what the first run returned:
    a handheld that retries after a lost response sees where things stand now."""

    async def replay(_: Any) -> T:
        return await read()

    return replay


async def run_once(kind: str, payload: Payload, *, key: str, actor: str,
                   work: Callable[[], Awaitable[T]], replay: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` in one transaction (a savepoint inside a caller's), once per key; a repeat gets
    `replay(the value work returned, as stored)` (`stored_as`, `read_again`).

    A ledger posting made inside takes a key derived from `key` (`derived_key`): one claim per command."""
    check_key(key)
    digest = payload_hash(kind, payload)

    async def attempt() -> T:
        stored = await claim(key, kind, digest, actor)
        if stored is not None:
            return await replay(stored.value)
        result = await work()
        # movement_ids keep the answer readable as a ledger answer (ledger/retention.py, the tablet's history).
        movement_ids = list(getattr(result, "movement_ids", []))
        await record_answer(key, encode_answer(movement_ids, value=msgspec.to_builtins(result)))
        return result

    return await db.run_in_transaction(attempt)


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    value: T
    replayed: bool = False


async def run_keyed(kind: str, payload: Payload, *, key: str | None, actor: str,
                    work: Callable[[], Awaitable[T]], again: Callable[[Any], Awaitable[T]]) -> Outcome[T]:
    """`run_once` for writes whose key is optional (catalogue and locations): without a key `work()`
    simply runs in its transaction; a repeat gets `again(what work returned, as stored)`, `replayed`."""
    if key is None:
        return Outcome(await db.run_in_transaction(work))

    async def first() -> Outcome[T]:
        return Outcome(await work())

    async def replay(stored: Any) -> Outcome[T]:
        return Outcome(await again(stored["value"]), replayed=True)

    return await run_once(kind, payload, key=key, actor=actor, work=first, replay=replay)


# --- retention (ledger/retention.py decides when) --------------------------------------------------------------


async def oldest_unexpired() -> datetime | str | None:
    row = await db.fetch_one("SELECT MIN(created_at) AS at FROM command_log WHERE compacted_at IS NULL")
    return row["at"] if row else None


async def expire_answers(start: datetime, end: datetime, now: datetime) -> int:
    """Drop the payload hash and answer of keys created in [start, end); the keys stay (movements name
    them). A repeat of such a key is IdempotencyKeyExpired."""
    done = await db.fetch(
        "UPDATE command_log SET payload_hash = '', result = '', compacted_at = {}"
        " WHERE created_at >= {} AND created_at < {} AND compacted_at IS NULL RETURNING 1 AS one",
        now, start, end,
    )
    return len(done)
