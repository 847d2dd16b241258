"""Litestar's generic connection types with Stockline's parameters filled in once, and the typed way to
the app's settings.

Stockline installs no Litestar authentication middleware: a guard reads the floor session or the API
token into the scope (session.py, guards.py), so a connection's `user` and `auth` slots stay unused.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import State

from backend.settings import Settings

AppRequest: TypeAlias = Request[None, None, State]
# A guard's connection or a handler's request: helpers that read the session or the token take either,
# whatever the route handler behind it.
AppConnection: TypeAlias = ASGIConnection[Any, None, None, State]
# What an error mapper or a screen answers with: JSON, a rendered template, a redirect or an empty body.
AnyResponse: TypeAlias = Response[Any]


def settings_of(connection: AppConnection) -> Settings:
    """The settings the app was built with (backend/http/app.py puts them in the app's state)."""
    settings = connection.app.state.settings
    assert isinstance(settings, Settings), "the app's state holds its Settings"
    return settings
