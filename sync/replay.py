"""Replaying a device's offline scans: each envelope once, in seq order, in its own transaction.

The promise (docs/offline-protocol.md): a scan accepted by the handheld is never lost and never applied
twice. Every envelope gets a final result (applied, duplicate, needs_review, rejected); the device
deletes it from its outbox only then. A txn_id seen before is answered from the inbox (duplicate);
the same txn_id with different content is a device bug: IdempotencyConflict (HTTP 422) for the
whole batch, checked before anything in the batch is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import structlog

from backend import db
from backend.domain import counts, scans
from backend.domain.auth.audit import Actor
from backend.domain.auth.users import UserView
from backend.domain.errors import DeviceMismatch, InvalidInput, TxnIdReused
from backend.domain.ledger import commands as ledger
from sync import inbox
from sync.envelopes import (
    DEVICE_ID_LENGTH_MAX,
    Identity,
    MalformedEnvelope,
    Scan,
    envelope_hash,
    read_identity,
    read_scan,
)
from sync.kinds import (
    Outcome,
    ScanRefused,
    UsersSeen,
    apply_scan,
    move_in_one_statement,
)

SYNC_BATCH_MAX = 200
_DEFAULT_THRESHOLDS = counts.Thresholds()
log = structlog.get_logger("stockline.sync")

Status = Literal["applied", "duplicate", "needs_review", "rejected"]


class TxnResult(msgspec.Struct, frozen=True, kw_only=True):
    txn_id: str
    status: Status
    reason: str = ""
    server_seq: int | None = None  # the inbox row id: the server's order of arrival
    original_status: str | None = None  # for a duplicate: what the first delivery got


@dataclass(frozen=True, slots=True)
class _Incoming:
    raw: Any
    identity: Identity | None  # None: cannot be stored, only answered
    digest: str
    scan: Scan | None  # None: malformed, `problem` says why
    problem: str


async def apply_batch(device_id: str, envelopes: Sequence[Any], session_user: UserView | Actor, *,
                      session_device: str, pending_reported: int | None = None, failed_reported: int | None = None,
                      thresholds: counts.Thresholds = _DEFAULT_THRESHOLDS) -> list[TxnResult]:
    """Apply a batch from one device; results in the order applied (by seq).

    `session_user` is who is signed in on the device now and `session_device` the server-issued device
    that session was signed in on: a batch naming any other device is refused whole (DeviceMismatch)
    before anything is read, so no handheld can post, or use up scan numbers, as another. The session's
    user relays scans that may be someone else's: each envelope is authorized as its own user_id. An
    empty batch is a heartbeat.
    """
    if device_id != session_device:
        raise DeviceMismatch("These scans name another scanner than the one you signed in on. "
                             "Sign in again on this scanner; the scans stay saved on it.")
    _check_batch(device_id, envelopes)
    incoming = [_read(raw, device_id) for raw in envelopes]
    seen = await _refuse_reused_txn_ids(incoming)
    relay_id = session_user.user_id if isinstance(session_user, Actor) else session_user.id

    async def touch() -> None:
        await inbox.touch_device(device_id, relay_id, pending_reported, failed_reported)

    # PostgreSQL: one statement is its own transaction (no BEGIN/COMMIT round trips); SQLite takes the
    # write lock through run_in_transaction, which retries while another writer holds it.
    await (touch() if db.is_postgres() else db.run_in_transaction(touch))
    ordered = sorted(incoming, key=lambda i: i.identity.seq if i.identity else 0)
    codes = await scans.read_ahead(i.scan.payload for i in ordered
                                   if i.scan is not None and i.identity is not None and i.identity.txn_id not in seen)
    with scans.reading_from(codes):
        results = await _apply_in_order(ordered, seen, relay_id, thresholds)
    _log(device_id, results)
    return results


@dataclass(frozen=True, slots=True)
class _Move:
    """A move scan ready to post in one statement with its inbox row (PostgreSQL)."""

    item: _Incoming
    claim: inbox.Claim
    posting: ledger.Prepared


async def _apply_in_order(ordered: list[_Incoming], seen: dict[str, inbox.StoredTxn], relay_id: int | None,
                          thresholds: counts.Thresholds) -> list[TxnResult]:
    """Each envelope in seq order; on PostgreSQL a run of consecutive moves is applied together (up to
    MOVES_TOGETHER_MAX a statement), before whatever follows it."""
    results: list[TxnResult] = []
    users_seen: UsersSeen = {}
    run: list[_Move] = []
    for item in ordered:
        claim = _claim(item, item.identity, relay_id) if item.identity is not None else None
        if claim is not None and item.scan is not None and db.is_postgres() and claim.identity.txn_id not in seen:
            posting = await move_in_one_statement(item.scan, users_seen, relay_id)
            if posting is not None:
                run.append(_Move(item, claim, posting))
                if len(run) == inbox.MOVES_TOGETHER_MAX:
                    results += await _apply_together(run, thresholds, users_seen)
                    run = []
                continue
        results += await _apply_together(run, thresholds, users_seen)
        run = []
        if item.identity is None or claim is None:
            results.append(TxnResult(txn_id=_raw_txn_id(item.raw), status="rejected", reason=item.problem))
        elif item.identity.txn_id in seen:  # sent before: its stored answer, no transaction
            results.append(_duplicate(seen[item.identity.txn_id]))
        else:
            results.append(await _apply_one(item, claim, thresholds, users_seen))
    return results + await _apply_together(run, thresholds, users_seen)


def _check_batch(device_id: str, envelopes: Sequence[Any]) -> None:
    if not isinstance(device_id, str) or not 0 < len(device_id) <= DEVICE_ID_LENGTH_MAX:
        raise InvalidInput(f"The scanner id must be 1–{DEVICE_ID_LENGTH_MAX} characters. Reload the scanner app.")
    if len(envelopes) > SYNC_BATCH_MAX:
        raise InvalidInput(f"Send at most {SYNC_BATCH_MAX} scans at a time.")


def _read(raw: Any, device_id: str) -> _Incoming:
    identity = read_identity(raw)
    if identity is not None and identity.device_id != device_id:
        problem = f"This scan was queued on another scanner ({identity.device_id}). Send it from that scanner."
        return _Incoming(raw, None, "", None, problem)
    digest = envelope_hash(raw) if identity is not None else ""
    try:
        return _Incoming(raw, identity, digest, read_scan(raw), "")
    except MalformedEnvelope as exc:
        return _Incoming(raw, identity, digest, None, exc.reason)


async def _refuse_reused_txn_ids(incoming: list[_Incoming]) -> dict[str, inbox.StoredTxn]:
    """A txn_id with different content anywhere in the batch refuses the batch before any of it applies.
    Returns the batch's envelopes already in the inbox (same content: duplicates)."""
    digests: dict[str, str] = {}
    for item in incoming:
        if item.identity is None:
            continue
        txn_id = item.identity.txn_id
        if digests.setdefault(txn_id, item.digest) != item.digest:
            raise TxnIdReused(txn_id)
    stored = await inbox.stored(list(digests))
    for txn_id, row in stored.items():
        if row.payload_hash != digests[txn_id]:
            raise TxnIdReused(txn_id)
    return stored


class _Taken(Exception):
    """The envelope's txn_id (or its seq) was stored meanwhile."""


def _claim(item: _Incoming, identity: Identity, relay_id: int | None) -> inbox.Claim:
    raw = item.raw
    return inbox.Claim(
        identity, item.digest, user_id=_int_or_none(raw.get("user_id")), kind=_text(raw.get("kind")),
        scanned_at=_text(raw.get("scanned_at")), session_user_id=relay_id,
    )


async def _apply_together(run: list[_Move], thresholds: counts.Thresholds, users_seen: UsersSeen) -> list[TxnResult]:
    """Consecutive moves, the common case, in one statement: their postings, audit rows, inbox rows and
    seqs (inbox.record_moves). When one of them is not applied cleanly nothing of the statement is
    kept: the moves before it are applied together again, it is applied alone (`_apply_one`, which
    gives it its own answer: found stock, rejected, duplicate...), then the moves after it."""
    if not run:
        return []
    done = await inbox.record_moves([(m.claim, m.posting) for m in run])
    if isinstance(done, list):
        results = []
        for m, (row, server_seq) in zip(run, done, strict=True):
            m.posting.answer(row)
            results.append(TxnResult(txn_id=m.claim.identity.txn_id, status="applied", server_seq=server_seq))
        return results
    assert 0 <= done < len(run), done
    before = await _apply_together(run[:done], thresholds, users_seen)
    alone = await _apply_one(run[done].item, run[done].claim, thresholds, users_seen)
    return [*before, alone, *await _apply_together(run[done + 1:], thresholds, users_seen)]


async def _apply_one(item: _Incoming, claim: inbox.Claim, thresholds: counts.Thresholds,
                     users_seen: UsersSeen) -> TxnResult:
    """The envelope, its inbox row and its seq bookkeeping: one transaction, the row written once at
    its end with the final result. A scan its command refuses is rolled back whole and its outcome
    recorded in a second transaction."""
    identity, relay_id = claim.identity, claim.session_user_id

    async def record(outcome: Outcome) -> TxnResult:
        server_seq = await inbox.record(claim, outcome.status, outcome.reason, outcome.result)
        if server_seq is None:
            raise _Taken
        if outcome.review is not None:
            await outcome.review.open()
        return TxnResult(txn_id=identity.txn_id, status=outcome.status, reason=outcome.reason, server_seq=server_seq)

    async def apply() -> TxnResult:
        outcome = (await apply_scan(item.scan, thresholds, users_seen, relay_id) if item.scan
                   else Outcome("rejected", item.problem))
        return await record(outcome)

    try:
        try:
            return await db.run_in_transaction(apply)
        except ScanRefused as refused:
            outcome = refused.outcome
        return await db.run_in_transaction(lambda: record(outcome))
    except _Taken:
        return await _answer_taken(item, identity)


def _duplicate(stored: inbox.StoredTxn) -> TxnResult:
    assert stored.status != "pending", "an inbox row is written with its final result"
    return TxnResult(txn_id=stored.txn_id, status="duplicate", reason=stored.reason, server_seq=stored.server_seq,
                     original_status=stored.status)


async def _answer_taken(item: _Incoming, identity: Identity) -> TxnResult:
    stored = await inbox.find(identity.txn_id)
    if stored is None:
        # Its (device_id, seq) belongs to another txn: the device reused a number (storage reset?).
        return TxnResult(txn_id=identity.txn_id, status="rejected",
                         reason=f"Scan number {identity.seq} of this scanner was already used by another scan. "
                                "Ask a lead to check the scanner.")
    if stored.payload_hash != item.digest:
        raise TxnIdReused(identity.txn_id)  # arrived between the batch check and now
    return _duplicate(stored)


def _raw_txn_id(raw: Any) -> str:
    value = raw.get("txn_id") if isinstance(raw, dict) else None
    return value[:64] if isinstance(value, str) else ""


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _log(device_id: str, results: list[TxnResult]) -> None:
    tally = {status: sum(1 for r in results if r.status == status)
             for status in ("applied", "duplicate", "needs_review", "rejected")}
    log.info("sync.batch", device=device_id, envelopes=len(results), **tally)
