"""Posting a stock correction (a signed delta) against the bin's current balance."""

from __future__ import annotations

from dataclasses import dataclass

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView
from backend.domain.ledger import commands
from backend.domain.locations.service import LocationView


@dataclass(frozen=True, slots=True)
class Correction:
    item: ItemView
    location: LocationView
    lot: str
    delta: int

    @property
    def sort_key(self) -> tuple[int, int, str]:
        # The ledger's lock order: balances are taken sorted by (item, location, lot).
        return (self.item.id, self.location.id, self.lot)


async def _current_balance(c: Correction) -> dict[str, int]:
    # FOR UPDATE (Postgres) keeps the row as checked until the adjustment is posted; SQLite
    # already holds the database write lock (BEGIN IMMEDIATE).
    lock = " FOR UPDATE" if db.is_postgres() else ""
    row = await db.fetch_one(
        "SELECT on_hand, reserved, quarantined, damaged FROM balances"
        " WHERE item_id = {} AND location_id = {} AND lot = {}" + lock,
        c.item.id, c.location.id, c.lot,
    )
    return row or {"on_hand": 0, "reserved": 0, "quarantined": 0, "damaged": 0}


async def why_not_postable(c: Correction) -> str:
    """Why the delta cannot be applied to the current balance now ('' = it can).

    Checked up front instead of catching the ledger's error: a failed nested ledger command
    would leave its claimed key behind in our transaction.
    """
    if not c.item.active or c.item.is_kit or c.delta > 0:
        return why_not_postable_on(c, None)
    return why_not_postable_on(c, await _current_balance(c))


def why_not_postable_on(c: Correction, bal: dict[str, int] | None) -> str:
    """why_not_postable against a balance already read (and locked); None: nothing there."""
    if not c.item.active:
        return f"{c.item.sku} is inactive, so its stock cannot be corrected. Reactivate it first."
    if c.item.is_kit:
        return f"{c.item.sku} is a kit and has no stock of its own. Count its components."
    if c.delta > 0:
        return ""
    bal = bal or {"on_hand": 0, "reserved": 0, "quarantined": 0, "damaged": 0}
    left = bal["on_hand"] + c.delta
    held = bal["reserved"] + bal["quarantined"] + bal["damaged"]
    if left < 0:
        return (f"Stock left {c.location.code} while it was counted: taking {-c.delta} off the "
                f"{bal['on_hand']} on hand now would go below zero. Recount the bin.")
    if left < held:
        return (f"Taking {-c.delta} off would leave {left} in {c.location.code}, but {held} are reserved "
                "for orders or on hold. Check the open picks, then recount.")
    return ""


def adjust_command(c: Correction, *, reason: str, doc_ref: str) -> commands.Adjust:
    return commands.Adjust(sku=c.item.sku, delta=c.delta, location=c.location.code, reason=reason, lot=c.lot,
                           doc_ref=doc_ref)


async def post_correction(c: Correction, *, reason: str, doc_ref: str, key: str, actor: Actor) -> list[int]:
    """One ledger Adjust; joins the caller's transaction."""
    result = await commands.execute(adjust_command(c, reason=reason, doc_ref=doc_ref), key=key, actor=actor.label)
    return result.movement_ids
