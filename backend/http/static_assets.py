"""/static as the handhelds get it: our own scripts and styles minified, everything else as on disk.

A handheld on a weak signal pays for every byte of its first load. Our modules are written to be read
(long comments, whole words); served as written they were 11 KiB of the Move screen's 60 KiB first
load, gzip included. They are minified here, once per file version (the cache key is path, size and
mtime), so there is no build step: `stockline demo` and the tests serve exactly what is in the tree,
and a changed file is served changed on its next request. Vendored files (`vendor/`, `*.min.js`) and
anything that is not JavaScript or CSS pass through untouched.

rjsmin keeps string and template literals and the line breaks automatic semicolon insertion needs;
tests/unit/test_static_assets.py checks every module still parses and keeps its literals.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio
import rcssmin
import rjsmin
from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType

_cache: dict[tuple[str, int, int], bytes] = {}


def minifiable(path: Path) -> bool:
    return path.suffix in (".js", ".css") and "vendor" not in path.parts and not path.name.endswith(".min.js")


def minified(path: Path) -> bytes:
    """The file as served: minified when `minifiable`, read once per version of the file."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        text = path.read_text(encoding="utf-8")
        small = str(rcssmin.cssmin(text)) if path.suffix == ".css" else str(rjsmin.jsmin(text))
        _cache[key] = small.encode("utf-8")
    return _cache[key]


class MinifiedFiles(BaseLocalFileSystem):
    """Litestar's local file system for the static router, answering minified bytes for our own modules."""

    async def info(self, path: PathType, **kwargs: Any) -> Any:
        info = await super().info(path, **kwargs)
        if minifiable(Path(path)):
            info = {**info, "size": len(minified(Path(path)))}  # Content-Length and the ETag follow it
        return info

    async def open(self, file: PathType, mode: str, buffering: int = -1) -> Any:
        if minifiable(Path(file)) and "b" in mode:
            return anyio.wrap_file(io.BytesIO(minified(Path(file))))
        return await super().open(file, mode, buffering)

