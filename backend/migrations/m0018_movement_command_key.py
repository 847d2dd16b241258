"""PostgreSQL: `movements.command_key` and `reservations.command_key` lose their foreign keys to
`command_log`.

`movements` has no index on command_key (m0008 dropped it: no query reads by it, and at millions of
movements it was hundreds of MiB). So whenever a command_log row was deleted — which a refused ledger
command does to undo its own claim, on every "not enough stock" answer — PostgreSQL checked the key
against every movement in a sequential scan: 130 ms a refusal at 1M movements, growing with the ledger,
with the claim's locks held meanwhile. And every inserted movement checked its key with a query and a
row lock of its own. `reservations` has no such index either: the same scan over every reservation
ever made.

What the keys held holds by these instead: a movement or a reservation is written only by a ledger command in the same
statement or transaction that claims its key (`stockline_post`, `stockline_settle_count`, the in-process
path through backend/domain/idempotency.py); a command_log row is deleted only by a refused command
undoing its own claim, and a refused command writes no movement and no reservation; retention compacts rows, never deletes
them. `stockline check --full` reports a movement or a reservation whose command key is not in
command_log (backend/domain/ledger/check.py). SQLite keeps the foreign keys.
"""

NAME = "movement_command_key"


def statements(dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return ["ALTER TABLE movements DROP CONSTRAINT movements_command_key_fkey",
            "ALTER TABLE reservations DROP CONSTRAINT reservations_command_key_fkey"]
