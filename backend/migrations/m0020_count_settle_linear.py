"""PostgreSQL: `stockline_settle_count` (m0017) reads a count's balance rows one lookup a line, so its cost
stays linear in the lines whatever plan PL/pgSQL caches.

PL/pgSQL caches the plans of a function's statements per connection: the first five calls get plans made
for their own values, later ones may get a generic plan, made without them. m0017 joined the count's
lines (an array: 10 rows to a generic plan) to their locked balance rows with a LEFT JOIN, and the generic
plan made it a nested loop comparing every line with every row: bench/count_post.py, settling 5,000-line
counts again and again on pooled connections, took 0.14-0.16 s a post for the first ones and 0.85-1.07 s
once a connection had settled five (0.20 ms of PostgreSQL CPU a line instead of 0.03), and a count ten
times larger would take a hundred times longer. Forcing plans made for each call's own values cost 0.03 s
a post (the lines copied into every statement's plan). Now the rows are locked in lock order by a
statement of their own, as before, and each line then reads its row by the balances' unique key.
"""

from backend.migrations import m0017_count_settle_on_server as m0017

NAME = "count_settle_linear"

# m0017's join of the lines to their locked rows: the subquery that locks them stays, as a statement of its
# own before the lines are decided; the lines then look their rows up.
_JOIN_START = "      LEFT JOIN (\n"
_JOIN_END = ") b ON b.item_id = x.item_id AND b.lot = x.lot\n"
_LOOKED_UP = """      LEFT JOIN LATERAL (
        SELECT b.item_id, b.on_hand, b.reserved + b.quarantined + b.damaged AS held
          FROM balances b
         WHERE b.item_id = x.item_id AND b.location_id = v_bin.id AND b.lot = x.lot
         LIMIT 1) b ON true
"""
_SECOND_READ = "  v_lines := ARRAY(\n    SELECT ROW(x.id, x.item_id, x.lot, x.variance,"


def _settle() -> str:
    sql = m0017._SETTLE.strip()
    start = sql.index(_JOIN_START)
    end = sql.index(_JOIN_END, start) + len(_JOIN_END)
    locking = sql[start + len(_JOIN_START):end - len(_JOIN_END)]
    assert sql.count(_JOIN_START) == 1 and "FOR UPDATE OF b" in locking and sql.count(_SECOND_READ) == 1
    lock = f"  PERFORM count(*) FROM (\n{locking}) AS locked;\n\n"
    sql = sql[:start] + _LOOKED_UP + sql[end:]
    sql = sql.replace(_SECOND_READ, lock + _SECOND_READ)
    return sql.replace("CREATE FUNCTION stockline_settle_count(", "CREATE OR REPLACE FUNCTION stockline_settle_count(", 1)


def statements(dialect: str) -> list[str]:
    return [_settle()] if dialect == "postgres" else []
