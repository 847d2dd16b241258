"""Offline scan envelopes and their payloads, validated strictly at the boundary.

An envelope is what the handheld's outbox stores before any network attempt (docs/offline-protocol.md).
Reading one has two stages because a malformed envelope still gets a final answer: if its
identity (txn_id, device_id, seq) is readable, the rejection is stored under it like any other
result (so a retry is answered as a duplicate and its seq is not reported as a gap); if not, the
device only gets the rejection back.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.domain import bounds, scans

DEVICE_ID_LENGTH_MAX = 100
CODE_LENGTH_MAX = scans.CODE_LENGTH_MAX  # a scanned barcode, SKU, bin or lot
SCANNED_AT_LENGTH_MAX = 64
TXN_ID_LENGTH_MAX = 36  # a hyphenated UUID
SEQ_MAX = scans.ID_MAX  # the largest integer a browser counts exactly

Kind = Literal["receive", "move", "pick", "count", "count_finish", "adjust"]
KINDS: tuple[str, ...] = ("receive", "move", "pick", "count", "count_finish", "adjust")

Code = scans.Code
DocRef = scans.DocRef
Lot = scans.Lot
Qty = scans.Qty
Id = scans.Id
DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=DEVICE_ID_LENGTH_MAX, pattern=bounds.ONE_LINE)]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Envelope(_Strict, frozen=True):
    txn_id: Annotated[str, msgspec.Meta(max_length=TXN_ID_LENGTH_MAX)]
    device_id: DeviceId
    seq: Id
    user_id: Id
    kind: Kind
    payload: dict[str, Any]
    scanned_at: Annotated[str, msgspec.Meta(max_length=SCANNED_AT_LENGTH_MAX)]  # device clock: audit only


# A payload is what the worker did (backend/domain/scans: codes as scanned, quantities as typed); the
# server interprets it when it applies it. A receive, move or adjust payload of the format before that
# (SKU and base-unit quantity worked out on the handheld, still waiting in some outbox) is read as
# `scans.Legacy*` and applied as it says (scans.receipt_of, move_of, adjustment_of), never dropped.
Payload = scans.Step | scans.Legacy
PAYLOAD_TYPES: dict[str, type[scans.Step]] = scans.STEP_TYPES
LEGACY_MARK = "sku"  # only the old receive, move and adjust payloads had this field


@dataclass(frozen=True, slots=True)
class Identity:
    """What an envelope is stored under: enough to answer a retry and to track the device's seq."""

    txn_id: str
    device_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class Scan:
    """A fully validated envelope and its typed payload."""

    envelope: Envelope
    payload: Payload


class MalformedEnvelope(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_txn_id(value: object) -> bool:
    """A UUID in the lowercase, hyphenated form `crypto.randomUUID()` makes (echoed back unchanged)."""
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def read_identity(raw: object) -> Identity | None:
    if not isinstance(raw, dict) or not is_txn_id(raw.get("txn_id")):
        return None
    device, seq = raw.get("device_id"), raw.get("seq")
    if not isinstance(device, str) or not 0 < len(device) <= DEVICE_ID_LENGTH_MAX:
        return None
    if not re.match(bounds.ONE_LINE, device):  # it is stored with the rejection: no NUL
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= SEQ_MAX:
        return None
    return Identity(raw["txn_id"], device, seq)


def envelope_hash(raw: dict[str, Any]) -> str:
    """Digest of everything the device sent for this txn: a true retry sends the same bytes' meaning."""
    return hashlib.sha256(msgspec.json.encode(raw, order="sorted")).hexdigest()


def read_scan(raw: object) -> Scan:
    """Validate an envelope and its payload for its kind, or raise MalformedEnvelope with a reason
    the person holding the scanner can act on."""
    if not isinstance(raw, dict):
        raise MalformedEnvelope("This scan could not be read (it is not a scan record). Redo it.")
    try:
        envelope = msgspec.convert(raw, Envelope)
    except msgspec.ValidationError as exc:
        raise MalformedEnvelope(_explain(exc, "")) from exc
    if not is_txn_id(envelope.txn_id):
        raise MalformedEnvelope("This scan has no valid scan id. Update the scanner app and redo it.")
    if not _is_timestamp(envelope.scanned_at):
        raise MalformedEnvelope("This scan has no valid scan time. Check the scanner's clock and redo it.")
    legacy = scans.LEGACY_TYPES.get(envelope.kind) if LEGACY_MARK in envelope.payload else None
    try:
        payload: Payload = msgspec.convert(envelope.payload, legacy or PAYLOAD_TYPES[envelope.kind])
    except msgspec.ValidationError as exc:
        raise MalformedEnvelope(_explain(exc, envelope.kind)) from exc
    return Scan(envelope, payload)


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_FIELD_WORDS = {
    "txn_id": "scan id", "device_id": "scanner id", "seq": "scan number", "user_id": "user",
    "kind": "kind of scan", "payload": "scan details", "scanned_at": "scan time", "sku": "item",
    "item_code": "item", "qty": "quantity", "to_location": "destination bin", "from_location": "source bin",
    "location": "bin", "bin": "bin", "lot": "lot", "expiry": "expiry date", "damaged": "damaged quantity",
    "pick_list_id": "pick list", "line_id": "pick line", "task_id": "count task", "mode": "count mode",
    "delta": "change", "reason": "reason", "items": "item scans", "to_bin": "destination bin",
    "from_bin": "source bin",
}
_PATH = re.compile(r"at `\$\.(\w+)")
_MISSING = re.compile(r"missing required field `(\w+)`")
_UNKNOWN = re.compile(r"unknown field `(\w+)`")


def _explain(exc: msgspec.ValidationError, kind: str) -> str:
    """msgspec's message, turned into a sentence for the floor (the raw detail stays in brackets)."""
    text = str(exc)
    what = f"This {kind} scan" if kind else "This scan"
    if m := _MISSING.search(text):
        return f"{what} is missing the {_FIELD_WORDS.get(m[1], m[1])}. Redo the scan."
    if m := _UNKNOWN.search(text):
        return f"{what} has an unexpected field ({m[1]}). Update the scanner app, then redo the scan."
    if m := _PATH.search(text):
        _, sentence = bounds.explain(exc)
        return f"{what} has an invalid {_FIELD_WORDS.get(m[1], m[1])}: it {sentence}. Redo the scan."
    return f"{what} could not be read ({text}). Redo the scan."
