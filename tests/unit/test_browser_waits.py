"""Every `wait_for_function` in the tests can wait. Playwright fulfils it on the first truthy value and
stops polling; a Promise is truthy, so an asynchronous predicate (`.then(`, `async`, `await`, or a call of
something that returns a Promise, such as the outbox's `counts()`) returns at once and waits for nothing.
That is how Stockline's offline-session browser test read the ledger before the scan was applied.

The predicates are read from the test sources (string literals, f-strings and module constants, also
imported ones) and refused if asynchronous, or if they cannot be read at all (pass values with `arg=`).
See tests/e2e/waits.py for what to write instead."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
STATIC = ROOT / "web" / "static"

# Tests that use an asynchronous predicate on purpose, to show what Playwright does with one:
# (path under the repository, enclosing test function). Each must still contain one.
ON_PURPOSE = {("tests/e2e/test_waits.py", "test_a_promise_predicate_does_not_wait")}

ASYNC_SYNTAX = [
    (r"\basync\b", "an async function returns a Promise"),
    (r"\bawait\b", "await makes the predicate an async function"),
    (r"\.then\s*\(", ".then( gives a Promise"),
    (r"\.catch\s*\(", ".catch( gives a Promise"),
    (r"\.finally\s*\(", ".finally( gives a Promise"),
    (r"\bPromise\b", "a Promise is truthy"),
    (r"\bfetch\s*\(", "fetch( returns a Promise"),
    (r"\bindexedDB\b", "IndexedDB answers asynchronously"),
    (r"\bcaches\s*\.", "the Cache API returns Promises"),
    (r"\bserviceWorker\s*\.\s*(ready|register|getRegistration)", "the service worker API returns Promises"),
    (r"\bcrypto\s*\.\s*subtle\b", "crypto.subtle returns Promises"),
    (r"\bnavigator\s*\.\s*(locks|storage)\b", "navigator.locks and navigator.storage return Promises"),
]
# Stockline's own functions that return a Promise without being declared async.
PROMISE_FUNCTIONS = {"counts", "rejected", "deviceId", "drain", "oldest", "req", "tx", "clearScreens", "endSession"}


@cache
def promise_functions() -> frozenset[str]:
    """Stockline's own: the async functions and methods in web/static, and the known Promise returners."""
    names = set(PROMISE_FUNCTIONS)
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        names |= set(re.findall(r"\basync\s+function\s*\*?\s*(\w+)", text))
        names |= set(re.findall(r"\basync\s+(\w+)\s*\([^)]*\)\s*\{", text))
        names |= set(re.findall(r"\b(\w+)\s*=\s*async\b", text))
    names.discard("function")
    return frozenset(names)


def async_reasons(predicate: str) -> list[str]:
    """Why the JavaScript `predicate` is asynchronous (empty when it is not)."""
    reasons = [why for pattern, why in ASYNC_SYNTAX if re.search(pattern, predicate)]
    called = set(re.findall(r"(?<![\w$])([A-Za-z_$][\w$]*)\s*\(", predicate)) & promise_functions()
    reasons += [f"{name}() returns a Promise" for name in sorted(called)]
    return reasons


class Unreadable(Exception):
    pass


@dataclass
class Module:
    path: Path
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name: (module, name)


@cache
def module_at(path: Path) -> tuple[Module, ast.Module]:
    tree = ast.parse(path.read_text(), str(path))
    return _module_of(path, tree), tree


def _module_of(path: Path, tree: ast.Module) -> Module:
    mod = Module(path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            mod.constants[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            mod.constants[node.target.id] = node.value
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                mod.imported[alias.asname or alias.name] = (node.module, alias.name)
    return mod


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def text_of(node: ast.expr, mod: Module, local: dict[str, ast.expr], depth: int = 0) -> str:
    """The string `node` evaluates to, from literals, f-strings, `+` and constants (the function's own
    string assignments, the module's, and those it imports from other test modules). A value put into an
    f-string that is none of these (a parameter, a number) is data, not code: it reads as "0"."""
    if depth > 20:
        raise Unreadable("constants refer to each other too deeply")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(text_of(part, mod, local, depth + 1) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        try:
            return text_of(node.value, mod, local, depth + 1)
        except Unreadable:
            return "0"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return text_of(node.left, mod, local, depth + 1) + text_of(node.right, mod, local, depth + 1)
    if isinstance(node, ast.Name):
        if node.id in local:
            return text_of(local[node.id], mod, {}, depth + 1)
        if node.id in mod.constants:
            return text_of(mod.constants[node.id], mod, {}, depth + 1)
        if node.id in mod.imported:
            dotted, name = mod.imported[node.id]
            path = _module_file(dotted)
            if path is not None:
                other, _ = module_at(path)
                return text_of(ast.Name(id=name, ctx=ast.Load()), other, {}, depth + 1)
        raise Unreadable(f"{node.id} is not a string constant")
    raise Unreadable(f"{ast.unparse(node)} is not a string literal or constant")


def _enclosing_functions(tree: ast.Module) -> dict[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The function each node is in. ast.walk goes outside in, so a nested function wins."""
    owner: dict[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(fn):
                if inner is not fn:
                    owner[inner] = fn
    return owner


def _string_assignments(fn: ast.AST | None) -> dict[str, ast.expr]:
    """A function's `name = <string>` assignments (the predicate may be built in a local variable)."""
    local: dict[str, ast.expr] = {}
    for node in ast.walk(fn) if fn is not None else ():
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant | ast.JoinedStr | ast.BinOp | ast.Name)):
            local[node.targets[0].id] = node.value
    return local


@dataclass(frozen=True)
class Wait:
    where: str  # path:line
    function: str  # enclosing function, "" at module level
    problems: tuple[str, ...]


def waits_in(source: str, path: Path) -> list[Wait]:
    """Every `wait_for_function(...)` call in `source` (the file at `path`) and what is wrong with it."""
    tree = ast.parse(source, str(path))
    mod = _module_of(path, tree)
    owner = _enclosing_functions(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name != "wait_for_function":
            continue
        expr = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "expression"), None)
        fn = owner.get(node)
        try:
            if expr is None:
                raise Unreadable("no predicate given")
            problems = tuple(async_reasons(text_of(expr, mod, _string_assignments(fn))))
        except Unreadable as e:
            problems = (f"the predicate cannot be checked: {e} (write it out; pass values with arg=)",)
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        found.append(Wait(f"{rel}:{node.lineno}", fn.name if fn else "", problems))
    return found


def test_no_wait_for_function_in_the_tests_waits_on_a_promise():
    checked, bad = 0, []
    for path in sorted(TESTS.rglob("*.py")):
        for wait in waits_in(path.read_text(), path):
            checked += 1
            rel = wait.where.rsplit(":", 1)[0]
            if (rel, wait.function) in ON_PURPOSE:
                continue
            bad += [f"{wait.where}: {problem}" for problem in wait.problems]
    assert checked > 0, "no wait_for_function found: is the scan looking in the right place?"
    assert not bad, "wait_for_function predicates that wait for nothing:\n" + "\n".join(bad)


def test_the_waits_kept_on_purpose_are_still_asynchronous():
    for rel, function in ON_PURPOSE:
        path = ROOT / rel
        waits = [w for w in waits_in(path.read_text(), path) if w.function == function]
        assert waits and all(w.problems for w in waits), (rel, function)


# ---- the check finds the waits that made the offline-session test flaky ---------------------------
# The old code is kept as text, with the wait's name spelled WAIT_FOR here so that a search of the
# tests for live waits does not stop on this fixture.

OLD_OFFLINE_WAITS = '''
STORED_USER = """async (code) => {
  const db = await new Promise((ok, err) => { const r = indexedDB.open("stockline-offline", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); });
  return new Promise((ok) => { const g = db.transaction("kv").objectStore("kv").get("user:" + code.toLowerCase());
    g.onsuccess = () => ok(g.result || null); g.onerror = () => ok(null); });
}"""
DRAIN_TIMEOUT_MS = 20000


def wait_until_sent(page):
    page.WAIT_FOR("window.Stockline.outbox.counts().then((c) => c.pending === 0 && c.rejected === 0)",
                           timeout=DRAIN_TIMEOUT_MS)


def test_scans_of_an_offline_session_are_sent_as_that_user(handheld, server):
    handheld.WAIT_FOR(f"({STORED_USER})('{USERS['picker'][0]}')")
'''.replace("WAIT_FOR(", "wait_for_" + "function(")


def test_the_old_offline_waits_are_found():
    waits = waits_in(OLD_OFFLINE_WAITS, TESTS / "e2e" / "test_offline.py")
    assert [w.function for w in waits] == ["wait_until_sent", "test_scans_of_an_offline_session_are_sent_as_that_user"]
    sent, stored = waits
    assert ".then( gives a Promise" in sent.problems and "counts() returns a Promise" in sent.problems
    assert "an async function returns a Promise" in stored.problems
    assert "IndexedDB answers asynchronously" in stored.problems


@pytest.mark.parametrize("predicate", [
    "Stockline.outbox.counts().then((c) => c.pending === 0)",
    "async () => (await Stockline.outbox.counts()).pending === 0",
    "() => window.Stockline.outbox.rejected()",
    "() => Stockline.outbox.deviceId()",
    "Stockline.outbox.drain()",
    "window.Stockline.offline.refreshSnapshot()",
    "navigator.serviceWorker.ready",
    "() => fetch('/healthz')",
])
def test_asynchronous_predicates_are_refused(predicate):
    [wait] = waits_in(f"page.wait_for_function({predicate!r})\n", TESTS / "e2e" / "example.py")
    assert wait.problems, predicate


@pytest.mark.parametrize("predicate", [
    "navigator.serviceWorker.controller !== null && Boolean(window.Stockline.offline.synced)",
    "n => document.querySelectorAll('[data-queued]').length === n",
    "window.__buzz.some((p) => JSON.stringify(p) === '[200,80,200]')",
    "document.body.dataset.outboxPending === '0' && document.body.dataset.outboxRejected === '0'",
])
def test_synchronous_predicates_pass(predicate):
    [wait] = waits_in(f"page.wait_for_function({predicate!r}, arg=1)\n", TESTS / "e2e" / "example.py")
    assert wait.problems == (), wait.problems


def test_a_predicate_that_cannot_be_read_is_refused():
    source = ("def t(page, make, predicate):\n    page.wait_for_function(make())\n"
              "    page.wait_for_function(predicate)\n")
    waits = waits_in(source, TESTS / "e2e" / "example.py")
    assert len(waits) == 2 and all("cannot be checked" in w.problems[0] for w in waits)


def test_values_put_into_a_predicate_are_data_and_local_predicates_are_read():
    source = """
def answered(page, after):
    page.wait_for_function(f"window.__buzz.length > {after}")


def stored(page, code):
    predicate = f"(async (c) => !!(await read(c)))('{code}')"
    page.wait_for_function(predicate)
"""
    data, built = waits_in(source, TESTS / "e2e" / "example.py")
    assert data.problems == ()
    assert "an async function returns a Promise" in built.problems


ASYNC_PREDICATE = "async () => (await navigator.storage.estimate()).usage > 0"  # imported by the test below


def test_imported_constants_are_followed():
    source = "from tests.unit.test_browser_waits import ASYNC_PREDICATE\npage.wait_for_function(ASYNC_PREDICATE)\n"
    [wait] = waits_in(source, TESTS / "e2e" / "example.py")
    assert "an async function returns a Promise" in wait.problems
