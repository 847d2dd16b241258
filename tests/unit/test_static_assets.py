"""Our scripts and styles are served minified (backend/http/static_assets.py): each still parses as an ES
module, keeps every string and template literal and every import, and is what /static answers with;
vendored files are served byte for byte."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from backend.http.app import create_app
from backend.http.static_assets import minifiable, minified
from backend.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
OURS = sorted(p for p in [*STATIC.glob("*.js"), *STATIC.glob("*.css")] if minifiable(p))
TEMPLATE = re.compile(r"`[^`]*`")
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
IMPORT = re.compile(r'(?:^|[;}\s])import\s*(?:[^"\'();]*?from\s*)?["\'](\.{1,2}/[^"\']+)["\']', re.MULTILINE)


def test_our_modules_and_styles_are_the_ones_minified() -> None:
    names = {p.name for p in OURS}
    assert {"app.js", "offline.js", "outbox.js", "gs1.js", "store.js", "app.css"} <= names
    assert "htmx.min.js" not in names and not minifiable(STATIC / "vendor" / "idb" / "index.js")


@pytest.mark.parametrize("path", [p for p in OURS if p.suffix == ".js"], ids=lambda p: p.name)
def test_a_minified_module_parses_and_keeps_its_literals_and_imports(path: Path, tmp_path: Path) -> None:
    source, small = path.read_text(), minified(path).decode()
    assert len(small) < len(source)
    for literal in TEMPLATE.findall(small) + STRING.findall(small):
        assert literal in source, f"{path.name}: {literal[:80]!r} changed"
    code_only = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.DOTALL)
    assert len(TEMPLATE.findall(small)) == len(TEMPLATE.findall(code_only))
    assert IMPORT.findall(small) == IMPORT.findall(source)
    node = shutil.which("node")
    assert node, "Node.js runs the handheld's barcode vectors too (scripts/test installs it)"
    module = tmp_path / f"{path.stem}.mjs"
    module.write_bytes(minified(path))
    checked = subprocess.run([node, "--check", str(module)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


async def test_static_answers_with_the_minified_module_and_vendored_files_as_they_are(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'stockline.db'}"), run_jobs=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://stockline.test") as c:
        ours = await c.get("/static/offline.js", headers={"Accept-Encoding": "identity"})
        assert ours.status_code == 200 and ours.content == minified(STATIC / "offline.js")
        assert int(ours.headers["content-length"]) == len(ours.content)
        vendored = await c.get("/static/vendor/idb/index.js")
        assert vendored.content == (STATIC / "vendor" / "idb" / "index.js").read_bytes()
        assert (await c.get("/static/htmx.min.js")).content == (STATIC / "htmx.min.js").read_bytes()
