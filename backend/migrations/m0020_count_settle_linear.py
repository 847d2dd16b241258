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

_LOCK = """  PERFORM count(*) FROM (
    SELECT b.id FROM balances b
     WHERE b.location_id = v_bin.id
       AND (b.item_id, b.lot) IN (SELECT u.item_id, u.lot FROM unnest(v_lines) u
                                   WHERE u.variance <> 0 AND (p_approved OR (abs(u.variance) <= p_units
                                         AND abs(u.variance) * u.unit_cost <= p_value_cents)))
     ORDER BY b.item_id, b.location_id, b.lot COLLATE "C"
       FOR UPDATE OF b) AS locked;

"""
_JOINED = """      LEFT JOIN (
        SELECT b.item_id, b.lot, b.on_hand, b.reserved + b.quarantined + b.damaged AS held
          FROM balances b
         WHERE b.location_id = v_bin.id
           AND (b.item_id, b.lot) IN (SELECT u.item_id, u.lot FROM unnest(v_lines) u
                                       WHERE u.variance <> 0 AND (p_approved OR (abs(u.variance) <= p_units
                                             AND abs(u.variance) * u.unit_cost <= p_value_cents)))
         ORDER BY b.item_id, b.location_id, b.lot COLLATE "C"
           FOR UPDATE OF b) b ON b.item_id = x.item_id AND b.lot = x.lot
"""
_LOOKED_UP = """      LEFT JOIN LATERAL (
        SELECT b.item_id, b.on_hand, b.reserved + b.quarantined + b.damaged AS held
          FROM balances b
         WHERE b.item_id = x.item_id AND b.location_id = v_bin.id AND b.lot = x.lot
         LIMIT 1) b ON true
"""
_SECOND_READ = "  v_lines := ARRAY(\n    SELECT ROW(x.id, x.item_id, x.lot, x.variance,"


def _settle() -> str:
    sql = m0017._SETTLE.strip()
    assert sql.count(_JOINED) == 1 and sql.count(_SECOND_READ) == 1
    sql = sql.replace(_JOINED, _LOOKED_UP).replace(_SECOND_READ, _LOCK + _SECOND_READ)
    return sql.replace("CREATE FUNCTION stockline_settle_count(", "CREATE OR REPLACE FUNCTION stockline_settle_count(", 1)


def statements(dialect: str) -> list[str]:
    return [_settle()] if dialect == "postgres" else []
