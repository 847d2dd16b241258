"""run_once, the one way a command is done once per idempotency key (backend/domain/idempotency.py),
on both databases: a repeat gets the first answer, another payload under the key is refused, a failed
command leaves its key free, concurrent claims do the work once, and the ledger's one-statement
posting on PostgreSQL and the in-process claim share one key space."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend import db
from backend.domain import idempotency
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.errors import IdempotencyConflict, IdempotencyKeyExpired, InvalidInput
from backend.domain.idempotency import derived_key, read_again, run_once, scoped_key, stored_as
from backend.domain.ledger import commands as c
from tests.factories import item, warehouse


@dataclass(frozen=True, slots=True)
class Made:
    note: str
    audit_rows: int
    replayed: bool = False


class Maker:
    """A command whose work writes an audit row and says how many there were: what a repeat must not redo."""

    def __init__(self, *, fail: bool = False, hold_s: float = 0.0) -> None:
        self.runs = 0
        self.fail = fail
        self.hold_s = hold_s

    async def __call__(self, note: str, key: str) -> Made:
        async def work() -> Made:
            self.runs += 1
            await audit.record(Actor("test"), "test.made", "note", note)
            await asyncio.sleep(self.hold_s)  # another claim of the key arrives meanwhile
            if self.fail:
                raise InvalidInput("refused after writing")
            return Made(note, await _audit_rows())

        return await run_once("TestMake", {"note": note}, key=key, actor="test", work=work, replay=stored_as(Made))


async def _audit_rows() -> int:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'test.made'")
    assert row is not None
    return int(row["n"])


async def test_the_same_key_and_payload_answer_with_the_first_result_and_write_nothing(ledger_db: Any) -> None:
    make = Maker()
    first = await make("a", "k-1")
    again = await make("a", "k-1")
    assert (first, again) == (Made("a", 1), Made("a", 1, replayed=True))
    assert make.runs == 1 and await _audit_rows() == 1
    assert await make("a", "k-2") == Made("a", 2)  # another key is another command


async def test_the_same_key_with_another_payload_is_refused(ledger_db: Any) -> None:
    make = Maker()
    await make("a", "k-1")
    with pytest.raises(IdempotencyConflict):
        await make("b", "k-1")

    async def other() -> Made:
        raise AssertionError("a refused key runs nothing")

    with pytest.raises(IdempotencyConflict):  # another kind of command under the key, same payload
        await run_once("TestOther", {"note": "a"}, key="k-1", actor="test", work=other, replay=stored_as(Made))
    assert make.runs == 1 and await _audit_rows() == 1


async def test_a_command_that_failed_leaves_its_key_free_and_its_writes_undone(ledger_db: Any) -> None:
    failing = Maker(fail=True)
    with pytest.raises(InvalidInput):
        await failing("a", "k-1")
    assert await _audit_rows() == 0 and not await idempotency.is_claimed("k-1")
    assert await Maker()("a", "k-1") == Made("a", 1)


async def test_concurrent_claims_of_one_key_do_the_work_once(ledger_db: Any) -> None:
    make = Maker(hold_s=0.2)
    results = await asyncio.gather(*(make("a", "k-1") for _ in range(4)))
    assert make.runs == 1 and await _audit_rows() == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert {r.audit_rows for r in results} == {1}


async def test_a_replay_may_answer_with_the_state_now(ledger_db: Any) -> None:
    async def work() -> int:
        return 1

    async def now() -> int:
        return 2

    assert await run_once("TestState", {}, key="k-1", actor="test", work=work, replay=read_again(now)) == 1
    assert await run_once("TestState", {}, key="k-1", actor="test", work=work, replay=read_again(now)) == 2


async def test_a_key_whose_answer_expired_is_refused_not_run_again(ledger_db: Any) -> None:
    make = Maker()
    await make("a", "k-1")
    now = datetime.now(UTC)
    assert await idempotency.expire_answers(now - timedelta(days=1), now + timedelta(seconds=1), now) == 1
    with pytest.raises(IdempotencyKeyExpired):
        await make("a", "k-1")
    assert make.runs == 1


async def test_ledger_postings_and_other_commands_share_one_key_space(ledger_db: Any) -> None:
    """On PostgreSQL the move below is claimed inside stockline_post's statement; on SQLite by `claim`.
    Either way run_once sees the key taken, and a ledger command sees run_once's key taken."""
    bins = await warehouse()
    await item("MUG")
    await c.execute(c.Receive(sku="MUG", qty=5, to_location=bins[0]), key="rcv", actor="test")
    move = c.Move(sku="MUG", qty=1, from_location=bins[0], to_location=bins[1])
    posted = await c.execute(move, key="shared", actor="test")
    assert (await c.execute(move, key="shared", actor="test")).replayed
    make = Maker()
    with pytest.raises(IdempotencyConflict):
        await make("a", "shared")
    await make("a", "taken-first")
    with pytest.raises(IdempotencyConflict):
        await c.execute(move, key="taken-first", actor="test")
    moved = await db.fetch("SELECT id FROM movements WHERE command_key IN ('shared', 'taken-first')")
    assert [r["id"] for r in moved] == posted.movement_ids and make.runs == 1


def test_one_rule_derives_keys_that_fit_and_stay_apart() -> None:
    assert scoped_key("api:7", "order-1") == "api:7:order-1"
    assert derived_key("api:7:order-1", "pick") == "api:7:order-1:pick"
    long_client_key = "x" * 120
    scoped = scoped_key("api:7", long_client_key)
    assert scoped.startswith("api:7:") and len(scoped) <= idempotency.SCOPED_KEY_LENGTH_MAX
    assert scoped != scoped_key("api:7", "x" * 119) and scoped != scoped_key("api:8", long_client_key)
    parent = "p" * idempotency.IDEMPOTENCY_KEY_LENGTH_MAX
    derived = derived_key(parent, "ship:3")
    assert len(derived) <= idempotency.IDEMPOTENCY_KEY_LENGTH_MAX and derived.endswith(":ship:3")
    assert derived != derived_key(parent[:-1], "ship:3") and derived != derived_key(parent, "ship:4")
    idempotency.check_key(derived)
    with pytest.raises(InvalidInput):
        scoped_key("api:7", "")
    with pytest.raises(InvalidInput):
        scoped_key("api:7", "bad\nkey")
