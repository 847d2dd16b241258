"""Roles and what each may do. One table, read by the HTTP guards and by domain commands."""

from __future__ import annotations

ROLES = ("picker", "receiver", "counter", "lead", "manager", "admin")

_FLOOR = {"lookup"}
_PERMISSIONS: dict[str, set[str]] = {
    "picker": _FLOOR | {"pick", "pack", "ship", "move"},
    "receiver": _FLOOR | {"receive", "putaway", "move"},
    "counter": _FLOOR | {"count"},
}
_PERMISSIONS["lead"] = (
    _PERMISSIONS["picker"] | _PERMISSIONS["receiver"] | _PERMISSIONS["counter"]
    | {"adjust", "create_pick_list", "resolve_short_picks", "approvals_view", "stock_search"}
)
_PERMISSIONS["manager"] = _PERMISSIONS["lead"] | {"approve", "users_view", "audit_view", "devices_manage",
                                                   "catalog_manage", "jobs_manage",
                                                   "purchasing_manage"}
_PERMISSIONS["admin"] = _PERMISSIONS["manager"] | {"users_manage"}

PERMISSIONS = frozenset(p for perms in _PERMISSIONS.values() for p in perms)


def allows(role: str, permission: str) -> bool:
    assert permission in PERMISSIONS, f"unknown permission {permission!r}"
    return permission in _PERMISSIONS.get(role, set())


def permissions_of(role: str) -> frozenset[str]:
    return frozenset(_PERMISSIONS.get(role, set()))
