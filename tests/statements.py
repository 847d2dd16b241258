"""Count what a piece of code sends to PostgreSQL: every statement on any asyncpg connection of this
process (asyncpg's Connection methods wrapped, as the benches do), so a test can say "one round trip"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest

_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table")


class Sent(str):
    """A statement's text, with the arguments it was sent with (`args`)."""

    args: tuple[Any, ...]


class StatementLog:
    def __init__(self) -> None:
        self.sql: list[str] = []
        self.recording = False

    def install(self, monkeypatch: pytest.MonkeyPatch) -> StatementLog:
        for name in _METHODS:
            original = getattr(asyncpg.connection.Connection, name)

            def counted(conn: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
                if self.recording:
                    sent = Sent(f"COPY {args[0]}" if _name == "copy_records_to_table" else str(args[0]))
                    sent.args = tuple(args[1:])
                    self.sql.append(sent)
                return _original(conn, *args, **kwargs)

            monkeypatch.setattr(asyncpg.connection.Connection, name, counted)
        return self

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The statements sent inside the block (a fresh list each time)."""
        self.sql, self.recording = [], True
        try:
            yield self.sql
        finally:
            self.recording = False
