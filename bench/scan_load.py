"""Handheld scan load on the Move screen of a real `stockline serve` process on PostgreSQL.

What it does (all on this machine, load generator included):

1. Creates a fresh database (`stockline_bench_scan`) through --pg-url, seeds it (migrate; one warehouse
   of max(100, 2*D) bins, 50 items, D floor users of role 'receiver' with PINs, and 1,000 units of each
   device's item in each of its two bins), then starts `python -m backend serve` on a free port with
   STOCKLINE_DB_POOL_MAX=--pool-max. One server process: `serve` runs `uvicorn.run(app_object)`, which
   cannot fork workers (that needs an import string / app factory), so multi-process is not an option today.
2. D simulated handhelds (asyncio + one httpx.AsyncClient each, own cookie jar, keep-alive) sign in
   (GET /signin for the csrftoken cookie, POST /signin with code + PIN), then run --rounds rounds of two
   phases of --seconds / --rounds each, the one that goes first swapped every round:
   - healthz: every device loops GET /healthz;
   - scan: every device loops the Move flow (back to back by default; --think-ms M pauses
     0.5M..1.5M before each scan, as a person walking and aiming does), exactly what htmx sends for the #flow form
     (HX-Request/HX-Target/HX-Trigger/HX-Current-URL + x-csrftoken headers, the form's hidden fields):
       step 1 scan-bin   code=<from bin>
       step 2 scan-item  from_bin=<from bin>, code=<sku>
       step 3 confirm    from_bin, sku, qty=1, key=<key rendered in the step-2 form>, code=<to bin>
                         (the server checks the move and answers with its envelope; it posts nothing)
       step 4 send       POST /sync/txns {device_id, envelopes: [the envelope, numbered as the outbox
                         numbers it], pending: 1, failed: 0}: what outbox.js does with it; applied = ok
     Each device moves its own item between its own two bins, back and forth, so moves succeed.
3. Prints, per phase: requests (steps) per second, statements per request counted inside the server
   (bench/_counted_serve.py wraps its asyncpg connections), and CPU per request of the server, its
   PostgreSQL backends and this load generator; then latency percentiles of every scan round, errors by
   status, the medians, bytes of the first load of the Move screen and of one scan round trip.

With no think time the loop is closed and saturating: each device waits only for its own previous
response, so mean latency is about D / throughput whatever the server does. Latency at a realistic
pace needs --think-ms.

The healthz phase does not measure the server: one Python load generator on the same 2 cores saturates
before the server does (a healthz request costs the server a tenth of a scan step). So the last line is
`ratio: X.XXX` = median over rounds of (server CPU per healthz request ÷ server CPU per scan step): what
a scan step costs the server against the cheapest request it answers (higher is better), which does not
depend on the load generator. Throughputs are printed beside it.
Usage: .venv/bin/python bench/scan_load.py [--seconds 20] [--rounds 4] [--devices 50] [--pg-url URL]
       [--pool-max 20] [--think-ms 0] [--profile FILE]   (py-spy record of the server, collapsed stacks)
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import html
import json
import os
import posixpath
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import (
    add_common_args,
    backend_pids,
    drop_database,
    migrated,
    pct,
    pids_cpu_s,
    proc_cpu_s,
    recreate_database,
    self_cpu_s,
    server_statements,
    start_server,
    stop_server,
)

from backend.domain.auth.audit import Actor
from backend.domain.auth.users import create_user
from backend.domain.catalog.service import NewItem, create_item
from backend.domain.ledger import commands as c
from backend.domain.locations.service import NewLocation, create_location

BENCH_DB = "stockline_bench_scan"
ITEMS, MIN_BINS, STOCK_PER_BIN = 50, 100, 1_000
STEPS = ("scan-bin", "scan-item", "confirm", "send")
MOVE_STATEMENTS_MAX = 20  # an online move, all four requests (issue 10)
STATIC = ("/static/app.css", "/static/app.js", "/static/htmx.min.js")
USER_AGENT = ("Mozilla/5.0 (Linux; Android 11; TC52) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Mobile Safari/537.36")
# Static imports as served (minified: several on one line, `import{a}from"./a.js"`).
IMPORT_RE = re.compile(r'(?:^|[;}\s])import\s*(?:[^"\'();]*?from\s*)?["\'](\.{1,2}/[^"\']+)["\']', re.MULTILINE)
KEY_RE = re.compile(r'name="key" value="([^"]+)"')
OK_MARK = 'data-feedback="ok"'
ENVELOPE_RE = re.compile(r'<template data-envelope data-kind="(\w+)" data-payload="([^"]*)"')
USER_RE = re.compile(r'data-user-id="(\d+)"')
INPUT_RE = re.compile(r'<input[^>]*\bname="(\w+)"[^>]*\bvalue="([^"]*)"')


def form_fields(page: str) -> dict[str, str]:
    """The named inputs of a screen's answer (its state, hidden or shown), but the key and the CSRF token."""
    return {k: html.unescape(v) for k, v in INPUT_RE.findall(page) if k not in ("key", "_csrf_token", "code")}


# --- seed --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Device:
    n: int
    code: str
    pin: str
    sku: str
    bin_a: str
    bin_b: str


def plan_devices(count: int) -> tuple[list[str], list[str], list[Device]]:
    bins = [f"S-{n:03d}" for n in range(1, max(MIN_BINS, 2 * count) + 1)]
    skus = [f"SCAN-{n:03d}" for n in range(1, ITEMS + 1)]
    devices = [Device(n, f"DEV-{n:03d}", f"{1000 + n}", skus[n % ITEMS], bins[2 * n], bins[2 * n + 1])
               for n in range(count)]
    return bins, skus, devices


async def seed(url: str, devices_count: int) -> list[Device]:
    """Migrate, then one warehouse, its bins, the items, the users and each device's stock."""
    bins, skus, devices = plan_devices(devices_count)
    async with migrated(url):
        await create_location(NewLocation(code="SWH", kind="warehouse", name="Scan bench warehouse"))
        await create_location(NewLocation(code="SWH-Z", kind="zone", parent="SWH"))
        for n, code in enumerate(bins, start=1):
            await create_location(NewLocation(code=code, kind="bin", parent="SWH-Z", walk_seq=n))
        for sku in skus:
            await create_item(NewItem(sku=sku, name=f"Scan bench item {sku}"))
        system = Actor("system:bench")
        for d in devices:
            await create_user(d.code, f"Handheld {d.n}", "receiver", d.pin, system)
            for bin_code in (d.bin_a, d.bin_b):
                await c.execute(c.Receive(sku=d.sku, qty=STOCK_PER_BIN, to_location=bin_code),
                                key=f"bench-seed-{d.n}-{bin_code}", actor="bench")
    return devices


# --- handhelds ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: Counter = field(default_factory=Counter)  # (step, status or exception name) -> count
    ok: int = 0
    done: int = 0
    elapsed_s: float = 0.0


class Handheld:
    def __init__(self, base: str, device: Device, connections: int) -> None:
        self.base = base
        self.device = device
        self.client = httpx.AsyncClient(base_url=base, timeout=30.0, follow_redirects=False,
                                        headers={"User-Agent": USER_AGENT},
                                        limits=httpx.Limits(max_connections=connections))
        self.csrf = ""
        self.forward = True
        self.device_id = ""  # issued by the server at sign-in
        self.seq = 0
        self.user_id = 0
        self.fields: dict[str, str] = {}  # the #flow form's fields as the last answer left them

    async def close(self) -> None:
        await self.client.aclose()

    async def sign_in(self) -> None:
        r = await self.client.get("/signin")
        r.raise_for_status()
        self.csrf = self.client.cookies["csrftoken"]
        r = await self.client.post("/signin", data={"_csrf_token": self.csrf, "code": self.device.code,
                                                     "pin": self.device.pin},
                                   headers={"x-csrftoken": self.csrf, "Origin": self.base})
        if r.status_code != 303 or "stockline_session" not in self.client.cookies:
            raise RuntimeError(f"sign-in of {self.device.code} failed: {r.status_code} {r.text[:300]}")
        self.device_id = self.client.cookies["stockline_device"]  # what outbox.js reads
        r = await self.client.get("/floor/move")  # the screen the handheld works on
        r.raise_for_status()
        match = KEY_RE.search(r.text)
        self.key = match.group(1) if match else uuid.uuid4().hex
        self.fields = form_fields(r.text)
        self.user_id = int(USER_RE.search(r.text).group(1))

    def _htmx_headers(self) -> dict[str, str]:
        return {"HX-Request": "true", "HX-Target": "flow", "HX-Trigger": "flow",
                "HX-Current-URL": f"{self.base}/floor/move", "x-csrftoken": self.csrf}

    def forms(self) -> list[dict[str, str]]:
        """The three scans of one move: each is posted with the #flow form's fields as the last answer left
        them (`step`), as htmx serializes the form."""
        d = self.device
        src, dst = (d.bin_a, d.bin_b) if self.forward else (d.bin_b, d.bin_a)
        return [{"code": src}, {"code": d.sku}, {"code": dst}]

    async def step(self, form: dict[str, str]) -> httpx.Response:
        data = {**self.fields, **form, "_csrf_token": self.csrf, "key": self.key}
        r = await self.client.post("/floor/move", data=data, headers=self._htmx_headers())
        match = KEY_RE.search(r.text)
        if match:
            self.key = match.group(1)  # the next post carries the key the server rendered into the form
        self.fields = form_fields(r.text)
        return r

    async def send(self, confirmed: str) -> tuple[httpx.Response, bool]:
        """What outbox.js does with the confirm step's envelope: number it, POST it to /sync/txns."""
        found = ENVELOPE_RE.search(confirmed)
        if found is None:
            raise RuntimeError("the confirm step answered without an envelope")
        self.seq += 1
        envelope = {"txn_id": str(uuid.uuid4()), "device_id": self.device_id, "seq": self.seq,
                    "user_id": self.user_id, "kind": found.group(1),
                    "payload": json.loads(html.unescape(found.group(2))),
                    "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        r = await self.client.post("/sync/txns", json={"device_id": self.device_id, "envelopes": [envelope],
                                                       "pending": 1, "failed": 0},
                                   headers={"x-csrftoken": self.csrf, "accept": "application/json"})
        applied = r.status_code == 200 and r.json()["results"][0]["status"] == "applied"
        return r, applied

    async def scan_loop(self, deadline: float, tally: Tally, think_s: float = 0.0) -> None:
        while time.perf_counter() < deadline:
            confirmed = ""
            for name, form in zip(STEPS, [*self.forms(), None], strict=True):
                if think_s and form is not None:
                    await asyncio.sleep(think_s * random.uniform(0.5, 1.5))  # the worker walks, aims, scans
                    if time.perf_counter() >= deadline:
                        return
                t0 = time.perf_counter()
                try:
                    if form is None:
                        r, ok = await self.send(confirmed)
                    else:
                        r = await self.step(form)
                        ok = (ENVELOPE_RE.search(r.text) is not None) if name == "confirm" else OK_MARK in r.text
                        confirmed = r.text
                except httpx.HTTPError as exc:
                    tally.errors[(name, type(exc).__name__)] += 1
                    tally.done += 1
                    break
                tally.latencies_ms[name].append((time.perf_counter() - t0) * 1000)
                tally.done += 1
                if r.status_code != 200 or not ok:
                    tally.errors[(name, str(r.status_code) if r.status_code != 200 else "200-not-ok")] += 1
                    break
                tally.ok += 1
            else:
                self.forward = not self.forward

    async def healthz_loop(self, deadline: float, tally: Tally) -> None:
        lat = tally.latencies_ms.setdefault("healthz", [])
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                r = await self.client.get("/healthz")
            except httpx.HTTPError as exc:
                tally.errors[("healthz", type(exc).__name__)] += 1
                tally.done += 1
                continue
            lat.append((time.perf_counter() - t0) * 1000)
            tally.done += 1
            if r.status_code == 200:
                tally.ok += 1
            else:
                tally.errors[("healthz", str(r.status_code))] += 1


async def run_phase(handhelds: list[Handheld], seconds: float, kind: str, think_s: float = 0.0) -> Tally:
    tally = Tally()
    start = time.perf_counter()
    loop = (lambda h: h.scan_loop(start + seconds, tally, think_s)) if kind == "scan" else (
        lambda h: h.healthz_loop(start + seconds, tally))
    await asyncio.gather(*(loop(h) for h in handhelds))
    tally.elapsed_s = time.perf_counter() - start
    return tally


# --- bytes -------------------------------------------------------------------------------------


def request_bytes(req: httpx.Request) -> int:
    line = f"{req.method} {req.url.raw_path.decode()} HTTP/1.1\r\n"
    headers = "".join(f"{k.decode()}: {v.decode()}\r\n" for k, v in req.headers.raw)
    return len(line.encode()) + len(headers.encode()) + 2 + len(req.content)


def response_header_bytes(r: httpx.Response) -> int:
    line = f"HTTP/1.1 {r.status_code} {r.reason_phrase}\r\n"
    return len(line.encode()) + sum(len(k) + len(v) + 4 for k, v in r.headers.raw) + 2


async def wire_get(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict:
    """GET as a browser would (Accept-Encoding: gzip, deflate, br); sizes as they cross the wire."""
    async with client.stream("GET", path, headers=headers) as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
        encoding = r.headers.get("content-encoding", "")
        body = gzip.decompress(raw) if encoding == "gzip" else raw
        return {"path": path, "status": r.status_code, "encoding": encoding or "none", "wire_body": len(raw),
                "raw_body": len(body), "gzip_body": len(gzip.compress(body, 6)),
                "headers": response_header_bytes(r), "request": request_bytes(r.request),
                "cache": r.headers.get("cache-control", "-"), "etag": "etag" in r.headers,
                "text": body.decode("utf-8", "replace") if path == "/floor/move" else ""}


async def imported_modules(client: httpx.AsyncClient, entry: str) -> list[str]:
    """The ES modules `entry` imports, transitively (a browser fetches them all on first load)."""
    found: list[str] = []
    todo = [entry]
    while todo:
        current = todo.pop()
        r = await client.get(current)
        for relative in IMPORT_RE.findall(r.text if r.status_code == 200 else ""):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(current), relative))
            if path not in found and path != entry:
                found.append(path)
                todo.append(path)
    return found


def precached_paths(sw_text: str) -> list[str]:
    """What the service worker's install step precaches: its SHELL, MODULES and SCREENS lists."""
    paths: list[str] = []
    for name in ("SHELL", "MODULES"):
        listed = re.search(rf"{name}\s*=\s*\[(.*?)\];", sw_text, re.DOTALL)
        paths += re.findall(r'"(/[^"]+)"', listed.group(1)) if listed else []
    screens = re.search(r"SCREENS\s*=\s*\[(.*?)\]", sw_text, re.DOTALL)
    paths += [f"/offline/screens/{n}" for n in re.findall(r'"([\w-]+)"', screens.group(1))] if screens else []
    return list(dict.fromkeys(paths))


async def measure_bytes(h: Handheld) -> list[str]:
    out: list[str] = []
    accept = {"Accept-Encoding": "gzip, deflate, br"}
    page = await wire_get(h.client, "/floor/move", {**accept, "Accept": "text/html,application/xhtml+xml,*/*"})
    first = [*STATIC, *await imported_modules(h.client, "/static/app.js")]
    assets = [await wire_get(h.client, p, {**accept, "Accept": "*/*"}) for p in first]
    rows = [page, *assets]
    compressed = any(r["encoding"] != "none" for r in rows)
    out.append("first load of the Move screen (GET /floor/move + " + ", ".join(first) + "), "
               "sent with Accept-Encoding: gzip, deflate, br:")
    for r in rows:
        out.append(f"  {r['path']:<22} status {r['status']}  content-encoding {r['encoding']:<5} "
                   f"body on the wire {r['wire_body']:>7,} B  raw {r['raw_body']:>7,} B  gzip -6 would be "
                   f"{r['gzip_body']:>6,} B  (+{r['headers']} B response headers, {r['request']} B request; "
                   f"cache-control {r['cache']}, etag {'yes' if r['etag'] else 'no'})")
    wire = sum(r["wire_body"] + r["headers"] + r["request"] for r in rows)
    raw = sum(r["raw_body"] + r["headers"] + r["request"] for r in rows)
    gz = sum(r["gzip_body"] + r["headers"] + r["request"] for r in rows)
    if compressed:
        out.append(f"  first load on the wire (compressed as served): {wire:,} B = {wire / 1024:.1f} KiB")
    else:
        out.append("  the server does NOT compress responses (no Content-Encoding on any of them)")
    out.append(f"  first load on the wire as served: {wire:,} B = {wire / 1024:.1f} KiB; uncompressed {raw:,} B "
               f"= {raw / 1024:.1f} KiB; if gzip-compressed: {gz:,} B = {gz / 1024:.1f} KiB  (goal < 50 KB)")
    others = sorted(set(re.findall(r'(?:href|src)="(/[^"]+)"', page["text"])) - set(first) - {"/floor/move"})
    extra = [await wire_get(h.client, p, {**accept, "Accept": "*/*"}) for p in others]
    extra = [e for e in extra if e["status"] == 200]
    if extra:
        out.append("  also fetched by a browser on first load, not counted above: " + ", ".join(
            f"{e['path']} {e['wire_body']:,} B (gzip {e['gzip_body']:,} B)" for e in extra))
    # app.js registers /sw.js, whose install step precaches its lists on a device's first visit.
    sw = await h.client.get("/sw.js")
    shell = precached_paths(sw.text) if sw.status_code == 200 else []
    if shell:
        paths = [p for p in shell if p not in first]
        pre = [await wire_get(h.client, p, {**accept, "Accept": "*/*"}) for p in paths]
        wire_sw = len(sw.content) + sum(e["wire_body"] for e in pre)
        gz_sw = len(gzip.compress(sw.content, 6)) + sum(e["gzip_body"] for e in pre)
        biggest = max(pre, key=lambda e: e["wire_body"]) if pre else None
        out.append(f"  then, on a device's first visit, the service worker (/sw.js {len(sw.content):,} B) precaches "
                   f"{len(pre)} more files: {wire_sw:,} B = {wire_sw / 1024:.0f} KiB on the wire as served (gzip "
                   f"{gz_sw:,} B = {gz_sw / 1024:.0f} KiB)" + (f"; largest {biggest['path']} {biggest['wire_body']:,} B"
                                                              if biggest else ""))

    # one scan round trip: the three posts of one move, as htmx sends them, and its envelope, as the outbox does
    h.forward = True
    async for name, r in one_move(h):
        req, resp = request_bytes(r.request), response_header_bytes(r) + r.num_bytes_downloaded
        out.append(f"scan round trip {name:<9}: request {req:,} B (body {len(r.request.content)} B) + response "
                   f"{resp:,} B (body {r.num_bytes_downloaded:,} B, content-encoding "
                   f"{r.headers.get('content-encoding', 'none')}, gzip would be {len(gzip.compress(r.content, 6))} B)"
                   f" = {req + resp:,} B")
    h.forward = False
    for form in h.forms():  # move it back
        r = await h.step(form)
    await h.send(r.text)
    return out


async def one_move(h: Handheld) -> AsyncIterator[tuple[str, httpx.Response]]:
    """The requests of one online move, as htmx and then the outbox send them: each step's name and answer
    (checked), yielded after it so the caller can measure between them."""
    confirmed = ""
    for name, form in zip(STEPS, [*h.forms(), None], strict=True):
        if form is None:
            r, ok = await h.send(confirmed)
        else:
            r = await h.step(form)
            ok, confirmed = ("data-envelope" in r.text) if name == "confirm" else OK_MARK in r.text, r.text
        assert r.status_code == 200 and ok, (name, r.status_code, r.text[:300])
        yield name, r


async def statements_of_one_move(h: Handheld, proc: subprocess.Popen, statements_file: Path) -> str:
    """One online move end to end, alone on the server (the other handhelds idle): the statements the
    server sent for each of its four requests, counted inside the server between them."""
    counts: list[int] = []
    before = await server_statements(proc, statements_file)
    async for _name, _r in one_move(h):
        after = await server_statements(proc, statements_file)
        counts.append(after - before)
        before = after
    h.forward = not h.forward
    total = sum(counts)
    verdict = "met" if total <= MOVE_STATEMENTS_MAX else "MISSED"
    return (f"one online move: {total} statements end to end = " + " + ".join(str(n) for n in counts)
            + f" ({', '.join(STEPS)}); goal <= {MOVE_STATEMENTS_MAX}: {verdict}")


# --- report ------------------------------------------------------------------------------------


def latency_line(name: str, values: list[float]) -> str:
    s = sorted(values)
    return (f"  {name:<10} n={len(s):>6}  p50 {pct(s, 50):7.1f} ms  p95 {pct(s, 95):7.1f} ms  "
            f"p99 {pct(s, 99):7.1f} ms  max {s[-1] if s else float('nan'):7.1f} ms")


def errors_line(tally: Tally) -> str:
    if not tally.errors:
        return "  errors: none"
    return "  errors: " + ", ".join(f"{step} {status}: {n}" for (step, status), n in sorted(tally.errors.items()))


def py_spy(pid: int, seconds: int, out: Path) -> subprocess.Popen | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print(f"py-spy not found; no profile written to {out}")
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True, slots=True)
class PhaseCost:
    """One timed phase: what the server, its PostgreSQL backends and this load generator spent on it."""

    label: str
    tally: Tally
    server_cpu_s: float
    pg_cpu_s: float
    client_cpu_s: float
    statements: int
    load: float

    @property
    def rate(self) -> float:
        return self.tally.ok / self.tally.elapsed_s if self.tally.elapsed_s else 0.0

    def per_request_ms(self, cpu_s: float) -> float:
        return 1000 * cpu_s / max(self.tally.ok, 1)

    def line(self, unit: str) -> str:
        ok = max(self.tally.ok, 1)
        return (f"{self.label}: {self.rate:.1f} {unit}/s ok ({self.tally.ok} in {self.tally.elapsed_s:.1f} s),"
                f" {self.statements / ok:.2f} statements/{unit}, CPU per {unit}: server"
                f" {self.per_request_ms(self.server_cpu_s):.2f} ms"
                f" + PostgreSQL {self.per_request_ms(self.pg_cpu_s):.2f}"
                f" ms + load generator {self.per_request_ms(self.client_cpu_s):.2f} ms; load {self.load:.1f}")


class Phases:
    """Timed phases against one server: CPU from /proc, statements counted inside the server."""

    def __init__(self, proc: subprocess.Popen, admin_url: str, statements_file: Path) -> None:
        self.proc, self.admin_url, self.statements_file = proc, admin_url, statements_file

    async def run(self, label: str, handhelds: list[Handheld], seconds: float, kind: str,
                  think_s: float = 0.0) -> PhaseCost:
        pids = await backend_pids(self.admin_url, BENCH_DB)
        pg0, server0, client0 = pids_cpu_s(pids), proc_cpu_s(self.proc.pid), self_cpu_s()
        st0 = await server_statements(self.proc, self.statements_file)
        tally = await run_phase(handhelds, seconds, kind, think_s)
        st1 = await server_statements(self.proc, self.statements_file)
        server, client = proc_cpu_s(self.proc.pid) - server0, self_cpu_s() - client0
        pg1 = pids_cpu_s(await backend_pids(self.admin_url, BENCH_DB))
        pg = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
        return PhaseCost(label, tally, server, pg, client, st1 - st0, os.getloadavg()[0])


def _merged(tallies: list[Tally]) -> Tally:
    merged = Tally()
    for t in tallies:
        for step, values in t.latencies_ms.items():
            merged.latencies_ms.setdefault(step, []).extend(values)
        merged.errors.update(t.errors)
        merged.ok += t.ok
        merged.done += t.done
        merged.elapsed_s += t.elapsed_s
    return merged


async def main(args: argparse.Namespace) -> None:
    d, rounds = args.devices, args.rounds
    per_s = max(2.0, args.seconds / rounds)
    print(f"scan load: {d} handhelds, {rounds} alternating rounds of {per_s:.1f} s per phase, one server process,"
          f" DB pool max {args.pool_max}, {os.cpu_count()} CPU cores (load generator on the same machine);"
          f" load average before start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    url = await recreate_database(args.pg_url, BENCH_DB)
    proc: subprocess.Popen | None = None
    handhelds: list[Handheld] = []
    health: list[PhaseCost] = []
    scans: list[PhaseCost] = []
    statements_file = Path(args.server_log).with_suffix(".statements")
    try:
        t0 = time.perf_counter()
        devices = await seed(url, d)
        print(f"seeded {len(devices)} users, {max(MIN_BINS, 2 * d)} bins, {ITEMS} items in "
              f"{time.perf_counter() - t0:.1f} s")
        proc, base = start_server(url, Path(args.server_log), pool_max=args.pool_max, statements_file=statements_file)
        handhelds = [Handheld(base, dev, 1) for dev in devices]
        await asyncio.gather(*(h.sign_in() for h in handhelds))
        for line in await measure_bytes(handhelds[0]):
            print(line)
        await run_phase(handhelds, min(3.0, per_s / 2), "scan")  # warm-up: pool connections, templates, caches
        print(await statements_of_one_move(handhelds[0], proc, statements_file))
        phases = Phases(proc, args.pg_url, statements_file)
        profiler = py_spy(proc.pid, int(per_s * rounds * 2), Path(args.profile)) if args.profile else None
        pace = f"{args.think_ms} ms mean think time" if args.think_ms else "no think time"
        for r in range(rounds):
            print(f"round {r + 1}:", flush=True)

            async def healthz_side() -> None:
                health.append(await phases.run("GET /healthz", handhelds, per_s, "healthz"))
                print(f"  {health[-1].line('request')}", flush=True)

            async def scan_side() -> None:
                scans.append(await phases.run(f"scan steps ({pace})", handhelds, per_s, "scan",
                                              args.think_ms / 1000))
                print(f"  {scans[-1].line('step')}", flush=True)

            for side in ((healthz_side, scan_side) if r % 2 == 0 else (scan_side, healthz_side)):
                await side()
        if profiler is not None:
            profiler.wait(timeout=per_s * rounds * 2 + 60)
            print(f"py-spy profile of the server: {args.profile}")
    finally:
        await asyncio.gather(*(h.close() for h in handhelds), return_exceptions=True)
        if proc is not None:
            stop_server(proc)
        statements_file.unlink(missing_ok=True)
        await drop_database(args.pg_url, BENCH_DB)
    all_scans = _merged([p.tally for p in scans])
    print(f"scan steps (3 POST /floor/move + POST /sync/txns), all rounds: {all_scans.ok} ok of {all_scans.done}")
    for name in STEPS:
        print(latency_line(name, all_scans.latencies_ms[name]))
    print(errors_line(all_scans))
    p95 = {s: pct(sorted(all_scans.latencies_ms[s]), 95) for s in STEPS}
    verdict = "met" if all(v < 50 for v in p95.values()) else "MISSED"
    steps = ", ".join(f"{s} {v:.0f} ms" for s, v in p95.items())
    print(f"goal p95 < 50 ms per step at {d} devices: {verdict} ({steps})")
    mid_health = sorted(health, key=lambda p: p.rate)[(len(health) - 1) // 2]
    mid_scan = sorted(scans, key=lambda p: p.rate)[(len(scans) - 1) // 2]
    print(f"  median {mid_health.line('request')}")
    print(f"  median {mid_scan.line('step')}")
    print(f"scan steps/s ÷ healthz requests/s (median rounds; bound by the load generator, see RESULTS.md):"
          f" {mid_scan.rate / mid_health.rate:.2f}")
    costs = [h.per_request_ms(h.server_cpu_s) / s.per_request_ms(s.server_cpu_s)
             for h, s in zip(health, scans, strict=True)]
    ratios = ", ".join(f"{x:.3f}" for x in costs)
    print(f"server CPU per healthz request ÷ server CPU per scan step, per round: {ratios}")
    print(f"ratio: {statistics.median(costs):.3f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--devices", type=int, default=50, help="concurrent simulated handhelds")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of healthz and scan phases")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="mean pause before each scan (uniform 0.5x-1.5x); 0 = back to back (saturation)")
    parser.add_argument("--pool-max", type=int, default=20, help="STOCKLINE_DB_POOL_MAX of the server")
    parser.add_argument("--server-log", default="/tmp/stockline-bench-scan-server.log", help="server output")
    parser.add_argument("--profile", default="", help="write a py-spy record (raw collapsed stacks) here")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
