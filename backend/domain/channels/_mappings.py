"""SKU mappings: which Stockline item a channel's SKU (or variant / product id) stands for.

A channel line is matched by its SKU, then `variant:<id>`, then `product:<id>`; a channel SKU that
is also a Stockline SKU needs no mapping (a mapping overrides it). A line nothing matches never
disappears: its order waits in the unmapped-SKU queue, and the import job continues it once a
mapping names its item.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from backend import db
from backend.domain import bounds
from backend.domain.auth import audit
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import Sku, find_item, sku_key
from backend.domain.channels._accounts import get_channel
from backend.domain.channels._payloads import ChannelLine
from backend.domain.errors import InvalidInput

MAPPINGS_PER_REQUEST_MAX = 5_000
CSV_BYTES_MAX = 2_000_000
REF_LENGTH_MAX = 64


ChannelRef = Annotated[str, msgspec.Meta(max_length=REF_LENGTH_MAX, pattern=bounds.ONE_LINE)]


class MappingSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One of channel_sku, variant_id, product_id names the channel's side; sku is Stockline's item."""

    sku: Sku
    channel_sku: ChannelRef = ""
    variant_id: ChannelRef = ""
    product_id: ChannelRef = ""
    dropship: bool = False


class MappingBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mappings: Annotated[list[MappingSpec], msgspec.Meta(max_length=MAPPINGS_PER_REQUEST_MAX)]


@dataclass(frozen=True, slots=True)
class Resolved:
    item_id: int | None  # None: no mapping yet
    dropship: bool = False


def channel_ref(spec: MappingSpec, row: int = 0) -> str:
    named = [(k, v.strip()) for k, v in (("", spec.channel_sku), ("variant:", spec.variant_id),
                                          ("product:", spec.product_id)) if v.strip()]
    where = f"Row {row}: " if row else ""
    if len(named) != 1:
        raise InvalidInput(f"{where}name exactly one of channel_sku, variant_id, product_id.")
    prefix, value = named[0]
    if len(value) > REF_LENGTH_MAX or not value.isprintable():
        raise InvalidInput(f"{where}a channel reference is 1–{REF_LENGTH_MAX} printable characters.")
    return prefix + value


async def set_mappings(slug: str, specs: list[MappingSpec], actor: Actor) -> int:
    """Create or replace each mapping (one transaction); returns how many were set."""
    if not 0 < len(specs) <= MAPPINGS_PER_REQUEST_MAX:
        raise InvalidInput(f"Send 1–{MAPPINGS_PER_REQUEST_MAX} mappings at a time.")
    refs = [channel_ref(s, n) for n, s in enumerate(specs, start=1)]

    async def work() -> int:
        channel = await get_channel(slug)
        now = datetime.now(UTC)
        for n, (spec, ref) in enumerate(zip(specs, refs, strict=True), start=1):
            item = await find_item(spec.sku)
            if item is None:
                raise InvalidInput(f"Row {n}: no Stockline item with SKU {spec.sku!r}.")
            if item.is_kit or not item.active:
                raise InvalidInput(f"Row {n}: {item.sku} is {'a kit' if item.is_kit else 'inactive'}; map the"
                                   " channel's SKU to an item that is stocked.")
            await db.fetch(
                "INSERT INTO channel_sku_mappings (channel_id, channel_ref, item_id, dropship, updated_at)"
                " VALUES ({}, {}, {}, {}, {}) ON CONFLICT (channel_id, channel_ref) DO UPDATE SET"
                " item_id = excluded.item_id, dropship = excluded.dropship, updated_at = excluded.updated_at",
                channel.id, ref, item.id, spec.dropship, now)
        await audit.record(actor, "channel.mappings", "channel", channel.id, None,
                           {"count": len(specs), "first": refs[0]})
        return len(specs)

    return await db.run_in_transaction(work)


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "y", "dropship")


def parse_mappings_csv(data: bytes) -> list[MappingSpec]:
    """Rows of a CSV with a header naming `sku` and one of channel_sku / variant_id / product_id
    (optional `dropship`). Errors name the row."""
    if len(data) > CSV_BYTES_MAX:
        raise InvalidInput(f"The CSV file is larger than {CSV_BYTES_MAX // 1_000_000} MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The CSV file must be UTF-8 text.") from exc
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if "sku" not in fields or not fields & {"channel_sku", "variant_id", "product_id"}:
        raise InvalidInput("The CSV needs a header with sku and channel_sku (or variant_id / product_id).")
    specs = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if isinstance(v, str)}
        if not any(v.strip() for v in row.values()):
            continue
        spec = MappingSpec(sku=row.get("sku", "").strip(), channel_sku=row.get("channel_sku", ""),
                           variant_id=row.get("variant_id", ""), product_id=row.get("product_id", ""),
                           dropship=_truthy(row.get("dropship", "")))
        channel_ref(spec, n)
        specs.append(spec)
    if not specs:
        raise InvalidInput("The CSV has no mapping rows.")
    return specs


def _refs(line: ChannelLine) -> list[str]:
    refs = [line.sku] if line.sku else []
    refs += [f"variant:{line.variant_ref}"] if line.variant_ref else []
    refs += [f"product:{line.product_ref}"] if line.product_ref else []
    return refs


async def resolve_lines(channel_id: int, lines: list[ChannelLine]) -> list[Resolved]:
    """The item of each channel line (two queries for the whole order)."""
    refs = sorted({r for line in lines for r in _refs(line)})
    keys = sorted({sku_key(line.sku) for line in lines if line.sku})
    parts, args = [], []
    if refs:
        parts.append("SELECT 'mapping' AS src, channel_ref AS ref, item_id, dropship FROM channel_sku_mappings"
                     f" WHERE channel_id = {{}} AND channel_ref IN ({', '.join('{}' for _ in refs)})")
        args += [channel_id, *refs]
    if keys:  # a channel SKU that is also a Stockline SKU maps to that item
        parts.append("SELECT 'item' AS src, sku_key AS ref, id AS item_id, FALSE AS dropship FROM items"
                     f" WHERE sku_key IN ({', '.join('{}' for _ in keys)}) AND active AND NOT is_kit")
        args += keys
    rows = await db.fetch(" UNION ALL ".join(parts), *args) if parts else []
    mapped = {r["ref"]: Resolved(r["item_id"], bool(r["dropship"])) for r in rows if r["src"] == "mapping"}
    same_sku = {r["ref"]: r["item_id"] for r in rows if r["src"] == "item"}
    out = []
    for line in lines:
        found = next((mapped[r] for r in _refs(line) if r in mapped), None)
        if found is None and line.sku and sku_key(line.sku) in same_sku:
            found = Resolved(same_sku[sku_key(line.sku)])
        out.append(found or Resolved(None))
    return out
