"""One open carton per order: the packer who reloads, goes Back or picks up another handheld finds
the order's carton where it was, instead of a new, empty one next to a lost one.

Orders that already have several open cartons keep the oldest: the units packed in the others are
moved into it (summed per order line and lot) and the emptied cartons are removed, so no packed
unit is left in a carton nobody can find.
"""

NAME = "one_open_carton"

_KEEP = "SELECT MIN(c2.id) FROM cartons c2 WHERE c2.order_id = {outer}.order_id AND c2.status = 'open'"

STATEMENTS = [
    ("INSERT INTO carton_lines (carton_id, order_line_id, lot, qty)"
    " SELECT k.keep_id, cl.order_line_id, cl.lot, SUM(cl.qty) FROM carton_lines cl"
    " JOIN cartons c ON c.id = cl.carton_id"
    " JOIN (SELECT order_id, MIN(id) AS keep_id FROM cartons WHERE status = 'open' GROUP BY order_id) k"
    " ON k.order_id = c.order_id"
    " WHERE c.status = 'open' AND c.id <> k.keep_id"
    " GROUP BY k.keep_id, cl.order_line_id, cl.lot"
    " ON CONFLICT (carton_id, order_line_id, lot) DO UPDATE SET qty = carton_lines.qty + excluded.qty"),
    ("DELETE FROM carton_lines WHERE carton_id IN (SELECT c.id FROM cartons c WHERE c.status = 'open'"
     f" AND c.id > ({_KEEP.format(outer='c')}))"),
    f"DELETE FROM cartons WHERE status = 'open' AND id > ({_KEEP.format(outer='cartons')})",
    "CREATE UNIQUE INDEX cartons_one_open ON cartons (order_id) WHERE status = 'open'",
]


def statements(dialect: str) -> list[str]:
    return list(STATEMENTS)
