"""Seed the small warehouse the browser tests work in (run as a subprocess before the server starts)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from backend import db
from backend.domain.auth.audit import Actor
from backend.domain.auth.tokens import create_token
from backend.domain.auth.users import create_user
from backend.domain.locations.service import NewLocation, create_location
from backend.migrations import migrate
from backend.settings import Settings
from tests.factories import item, receive

USERS = {  # role: (badge, PIN)
    "admin": ("B-ADMIN", "1111"), "manager": ("B-MGR", "2222"), "manager2": ("B-MGR2", "2323"),
    "lead": ("B-LEAD", "3333"), "picker": ("B-PICK", "4444"), "receiver": ("B-RECV", "5555"),
    "counter": ("B-COUNT", "6666"),
    "picker2": ("B-PICK2", "4545"),  # the lockout test's badge: locking it holds up no other test
}
BINS = ["A-01", "A-02", "A-03", "A-04", "B-01", "B-02"]
MUG_GTIN, MUG_CASE_GTIN = "4006381333931", "14006381333938"
TEA_GTIN = "96385074"


async def seed(token_file: Path) -> None:
    await db.connect(Settings.from_env())
    try:
        await migrate()
        await create_location(NewLocation(code="WH1", kind="warehouse"))
        await create_location(NewLocation(code="WH1-DOCK", kind="zone", parent="WH1"))
        await create_location(NewLocation(code="DOCK-1", kind="bin", parent="WH1-DOCK", walk_seq=1))
        for zone in ("A", "B"):
            await create_location(NewLocation(code=f"WH1-{zone}", kind="zone", parent="WH1"))
        for n, code in enumerate(BINS, start=10):
            await create_location(NewLocation(code=code, kind="bin", parent=f"WH1-{code[0]}", walk_seq=n))
        await item("MUG", gtin=MUG_GTIN, case_gtin=MUG_CASE_GTIN)
        await item("TEA", gtin=TEA_GTIN, lot_tracked=True)
        await item("LAMP")
        await receive("MUG", 10, "A-01")
        await receive("LAMP", 5, "B-01")
        for role, (badge, pin) in USERS.items():
            await create_user(badge, role.title(), role.rstrip("2"), pin, Actor("system:test"))
        token_file.write_text(await create_token("e2e", "read"))
    finally:
        await db.disconnect()


if __name__ == "__main__":
    asyncio.run(seed(Path(sys.argv[1])))
