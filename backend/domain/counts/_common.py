"""What counts and adjustment requests share: thresholds, roles and lot rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from backend.domain.auth import permissions
from backend.domain.auth.audit import Actor
from backend.domain.catalog.service import ItemView
from backend.domain.errors import InvalidInput, NotPermitted, SegregationOfDuties

if TYPE_CHECKING:
    from backend.settings import Settings

NOTE_LENGTH_MAX = 500


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Largest variance that posts without a manager: both limits must hold (inclusive)."""

    units: int = 10
    value_cents: int = 5000

    def __post_init__(self) -> None:
        if self.units < 0 or self.value_cents < 0:
            raise InvalidInput("Approval thresholds cannot be negative.")

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The limits in force (STOCKLINE_ADJUST_APPROVAL_UNITS, STOCKLINE_ADJUST_APPROVAL_VALUE_CENTS), for
        counts, adjustments and replayed scans alike."""
        return cls(units=settings.adjust_approval_units, value_cents=settings.adjust_approval_value_cents)

    def allows(self, delta: int, unit_cost_cents: int) -> bool:
        return abs(delta) <= self.units and abs(delta) * unit_cost_cents <= self.value_cents


DEFAULT_THRESHOLDS = Thresholds()


def now() -> datetime:
    return datetime.now(UTC)


def lot_for(item: ItemView, lot: str) -> str:
    lot = lot.strip()
    tracked = item.lot_tracked or item.serial_tracked
    if tracked and not lot:
        what = "serial number" if item.serial_tracked else "lot"
        raise InvalidInput(f"{item.sku} is tracked by {what}: scan or enter the {what}.")
    if not tracked and lot:
        raise InvalidInput(f"{item.sku} is not lot tracked; leave the lot empty.")
    return lot


def clean_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise InvalidInput("Say why you reject it, so the team knows what to fix.")
    if len(note) > NOTE_LENGTH_MAX:
        raise InvalidInput(f"Keep the note under {NOTE_LENGTH_MAX} characters.")
    return note


def require_counter(actor: Actor) -> None:
    # Submitting a count posts small corrections without a manager, so it needs the right.
    if not permissions.allows(actor.role, "count"):
        raise NotPermitted("Counting needs a counter, lead or manager sign-in.")


def may_adjust_directly(actor: Actor) -> bool:
    return permissions.allows(actor.role, "adjust")


def require_approver(actor: Actor) -> None:
    if not permissions.allows(actor.role, "approve"):
        raise NotPermitted("Only a manager can approve or reject this. Ask a manager to review it.")
    if actor.user_id is None:
        # Without a user id we cannot tell the approver from the person who did the work.
        raise NotPermitted("Sign in with your own badge to approve or reject.")


def refuse_own_work(actor: Actor, worker_ids: set[int | None], message: str) -> None:
    if actor.user_id in worker_ids:
        raise SegregationOfDuties(message)
