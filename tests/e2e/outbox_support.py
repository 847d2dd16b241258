"""Helpers for the outbox browser tests: stock of the tests' own items in bins of their own (so other
browser tests sharing the server see nothing of it), the outbox driven from the page, the ledger and
the inbox read back, and a server killed and started again on the same port and database.

Run as a module it seeds (in the server's database): `python -m tests.e2e.outbox_support '<json>'`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import HANDHELD, SERVER_START_S, Server

BINS = ["OB-01", "OB-02", "OB-03", "OB-04"]
DRAIN_S = 60  # how long a test waits for the outbox to empty (backoff is capped at 30 s)

# ---- seeding ---------------------------------------------------------------------------------------


_skus = itertools.count(1)


def new_sku(name: str) -> str:
    """An item of the test's own, so tests never share stock (one counter for every outbox test module)."""
    return f"OB{name}{next(_skus)}"


def stock(server: Server, sku: str, qty: int = 0, bin_code: str = "OB-01", pick_qty: int = 0) -> dict[str, Any]:
    """A fresh item `sku` with `qty` in `bin_code`; with `pick_qty`, an order for it on a pick list.
    The OB bins are shared by every test that uses them: fit only for moves of the test's own item. A test
    that counts, adjusts or otherwise depends on a bin's state makes bins of its own (tests.e2e.own)."""
    spec = {"sku": sku, "qty": qty, "bin": bin_code, "pick_qty": pick_qty}
    out = subprocess.run([sys.executable, "-m", "tests.e2e.outbox_support", json.dumps(spec)], env=server.env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _seed(spec: dict[str, Any]) -> dict[str, Any]:
    from backend import db
    from backend.domain.auth.audit import Actor
    from backend.domain.errors import AlreadyExists
    from backend.domain.fulfillment.service import (
        NewManualOrder,
        OrderLineSpec,
        create_manual_order,
        create_pick_list,
    )
    from backend.domain.ledger import commands
    from backend.domain.locations.service import NewLocation, create_location
    from backend.settings import Settings
    from tests.factories import item

    await db.connect(Settings.from_env())
    try:
        try:
            await create_location(NewLocation(code="WH1-OB", kind="zone", parent="WH1"))
            for n, code in enumerate(BINS, start=50):
                await create_location(NewLocation(code=code, kind="bin", parent="WH1-OB", walk_seq=n))
        except AlreadyExists:
            pass
        await item(spec["sku"])
        if spec["qty"]:
            receipt = commands.Receive(sku=spec["sku"], qty=spec["qty"], to_location=spec["bin"])
            await commands.execute(receipt, key=f"seed-{spec['sku']}", actor="system:test")
        out: dict[str, Any] = {"sku": spec["sku"]}
        if spec["pick_qty"]:
            ref, system = f"SO-{spec['sku']}", Actor("system:test")
            lines = [OrderLineSpec(spec["sku"], spec["pick_qty"])]
            await create_manual_order(NewManualOrder(order_ref=ref, lines=lines, warehouse="WH1"), key=f"order-{ref}",
                                      actor=system)
            pick_list = await create_pick_list(ref, key=f"pick-list-{ref}", actor=system)
            line = pick_list.lines[0]
            out["pick"] = {"pick_list_id": pick_list.id, "line_id": line.id, "bin": line.bin, "item_code": line.sku,
                           "qty": line.qty}
        return out
    finally:
        await db.disconnect()


# ---- the outbox, from the page -------------------------------------------------------------------

BADGE = "#outbox-badge"

_LISTEN = """() => {
  if (window.__results) return;
  window.__results = [];
  document.addEventListener("stockline:result", (e) => window.__results.push(e.detail));
}"""


def listen(page: Page) -> None:
    """Record every final result the outbox announces on this page (in `window.__results`)."""
    page.evaluate(_LISTEN)


def results(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__results")


def enqueue(page: Page, kind: str, **payload: Any) -> dict[str, Any]:
    return page.evaluate("([kind, payload]) => Stockline.outbox.enqueue({kind, payload})", [kind, payload])


def enqueue_many(page: Page, scans: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Queue scans one after another, as a worker scanning fast would."""
    return page.evaluate(
        """async (scans) => {
             const out = [];
             for (const [kind, payload] of scans) out.push(await Stockline.outbox.enqueue({kind, payload}));
             return out;
           }""",
        [[k, p] for k, p in scans],
    )


def counts(page: Page) -> dict[str, int]:
    return page.evaluate("Stockline.outbox.counts()")


def drained(page: Page, timeout_s: int = DRAIN_S) -> None:
    """Every scan has a final answer from the server: the outbox says so, and the badge is gone."""
    expect(page.locator("body")).to_have_attribute("data-outbox-pending", "0", timeout=timeout_s * 1000)
    expect(page.locator("body")).to_have_attribute("data-outbox-rejected", "0")
    expect(page.locator(BADGE)).to_be_hidden()
    assert counts(page) == {"pending": 0, "rejected": 0}


_IDB = """([op, arg]) => new Promise((resolve, reject) => {
  const open = indexedDB.open("stockline-outbox");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result, t = db.transaction(["meta", "outbox"], "readwrite");
    t.oncomplete = () => { db.close(); resolve(); };
    t.onerror = () => reject(t.error);
    if (op === "skip") {
      const meta = t.objectStore("meta");
      meta.get("seq").onsuccess = (e) => meta.put({key: "seq", value: e.target.result.value + arg});
    } else if (op === "put") {
      t.objectStore("outbox").put({seq: arg.seq, envelope: arg, queued_at: Date.now()});
    }
  };
})"""


def skip_seq_numbers(page: Page, how_many: int) -> None:
    """What lost envelopes look like from the server: the device's counter jumps."""
    page.evaluate(_IDB, ["skip", how_many])


def requeue_changed(page: Page, envelope: dict[str, Any], **payload_changes: Any) -> None:
    """A device bug: the same txn_id stored again with different details."""
    page.evaluate(_IDB, ["put", {**envelope, "payload": {**envelope["payload"], **payload_changes}}])


# ---- the server's side -----------------------------------------------------------------------------


def movements(server: Server, sku: str) -> list[dict[str, Any]]:
    """Every movement of `sku`, in the server's order."""
    out, cursor = [], ""
    while True:
        page = server.api("/movements", sku=sku, limit=500, **({"cursor": cursor} if cursor else {}))
        out += page["items"]
        if not page["next_cursor"]:
            return out
        cursor = page["next_cursor"]


def sync_movements(server: Server, sku: str) -> list[dict[str, Any]]:
    """The movements the outbox's scans posted (ledger key `sync:{txn_id}`), in the server's order."""
    return [m for m in movements(server, sku) if (m["idempotency_key"] or "").startswith("sync:")]


def txn_of(movement: dict[str, Any]) -> str:
    return movement["idempotency_key"].split(":")[1].split("#")[0]  # sync:{txn_id}[:part]#{leg}


def assert_check_clean(server: Server) -> None:
    result = server.check()
    assert result.returncode == 0, result.stdout + result.stderr


@contextmanager
def device(browser: Browser, server: Server) -> Iterator[Page]:
    """Another handheld: its own browser profile, so its own outbox and device id."""
    context = browser.new_context(viewport=HANDHELD, has_touch=True, base_url=server.url)
    try:
        yield context.new_page()
    finally:
        context.close()


def kill(server: Server) -> None:
    """kill -9: no shutdown, no flushing, whatever request is running is cut."""
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)


def restart(server: Server, log_path: str) -> None:
    """Start `stockline serve` again on the same port and database (no migration or seed)."""
    port = server.url.rsplit(":", 1)[1]
    log = open(log_path, "a")  # noqa: SIM115 - closed with the process
    server.process = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", port], env=server.env,
                                      stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start again")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_seed(json.loads(sys.argv[1])))))
