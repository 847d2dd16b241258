"""Every Piccolo table of the domain: each area's `tables.py` is imported here so the engine can
bind them all (backend.db.configure) and tests can compare them with the migrated schema."""

from __future__ import annotations

import importlib
import pkgutil

from piccolo.table import Table

import backend.domain as _domain


def _load_area_tables() -> tuple[type[Table], ...]:
    for area in pkgutil.iter_modules(_domain.__path__):
        if area.ispkg:
            try:
                importlib.import_module(f"{_domain.__name__}.{area.name}.tables")
            except ModuleNotFoundError as exc:
                if exc.name != f"{_domain.__name__}.{area.name}.tables":
                    raise
    found: list[type[Table]] = []
    stack = list(Table.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith(_domain.__name__ + "."):
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return tuple(sorted(found, key=lambda t: t._meta.tablename))


ALL_TABLES = _load_area_tables()
