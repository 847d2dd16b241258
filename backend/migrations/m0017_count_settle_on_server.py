"""A count's lines settled in one statement on PostgreSQL: `stockline_settle_count(...)`, called by
backend/domain/counts/_settle.py (`settle_task`) for a count's submit and a manager's approval.

It does on the server what `_settle.settle` does in-process (SQLite keeps that path), by the same rules
and with the same words: read the task's lines in the ledger's lock order (item_id, lot) with their
variance (counted − expected at the first scan) and item; a line with no variance is `matched`; one the
approval thresholds do not allow waits (`pending_approval`; a manager's approval passes no thresholds);
the balance rows of the rest are locked in lock order and read, and a line whose delta the current
balance cannot take, or whose item is inactive or a kit, waits for review (`needs_review`, with the
reason `_corrections.why_not_postable_on` gives). The others post as ONE ledger command under the key
the caller derived (kind AdjustMany, one movement per line, keys `{key}#{n}`, doc_ref `COUNT-{task}`,
reason count_correction), as `batches.post_adjustments_as_one` posts them: key claimed with its answer,
the balance rows read under lock as one guarded update (a line without a row adds it), movements appended. Last, every line's
variance, value, status, reason and ledger key are recorded in one update.

What the in-process path would refuse with an error (a lot rule the item no longer fits, a serial item
off by more than one, a delta beyond the quantity limit) or answer from `command_log` (the key already
claimed) comes back as `fallback` with nothing written; the caller then runs the in-process path, which
raises or answers in the ledger's words. A guarded update that fails although its row was read under
lock is a broken invariant and raises.

The claimed key's payload hash is a digest of the posted lines (item, lot, delta) and the document
reference, computed here. The key is derived from the count's own submit or approve key, which
`run_once` claimed in the same transaction, so no other request ever presents it.

Also: PostgreSQL's `movements` loses its foreign keys to `items` and `locations`, and both databases refuse
to delete or renumber an item or a location (see `_DROP_MOVEMENT_FKS` for why and what guarantees instead).
"""

NAME = "count_settle_on_server"

_LINE_TYPE = r"""
CREATE TYPE stockline_count_line AS (
  id bigint, item_id bigint, lot text, variance bigint, unit_cost bigint, sku text, active boolean,
  is_kit boolean, tracked boolean, serial boolean, has_row boolean, status text, reason text)
"""

# The lines travel between the statements as one array of that type and are read with unnest (an element
# of an array of variable-length values is found by walking the array: subscripts would cost n² in all).
_COLUMNS = "id, item_id, lot, variance, unit_cost, sku, active, is_kit, tracked, serial, has_row, status, reason"

_SETTLE = r"""
CREATE FUNCTION stockline_settle_count(
  p_task_id bigint, p_statuses text[], p_approved boolean, p_units bigint, p_value_cents bigint,
  p_key text, p_actor text, p_now timestamptz,
  OUT status text, OUT movement_ids bigint[], OUT waiting boolean, OUT lines integer)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  qty_max CONSTANT bigint := 1000000000;
  v_bin record;
  v_outside bigint;
  v_doc_ref text := 'COUNT-' || p_task_id;
  v_lines stockline_count_line[];
  v_posting integer;
  v_changes integer;
  v_done integer;
  v_refused boolean;
BEGIN
  SELECT l.id, l.code INTO v_bin FROM count_tasks t JOIN locations l ON l.id = t.bin_id WHERE t.id = p_task_id;
  SELECT id INTO v_outside FROM locations WHERE code_key = 'adjustment';
  movement_ids := '{}';
  waiting := false;

  -- 1. The lines in lock order, with the variance and what decides them.
  v_lines := ARRAY(
    SELECT ROW(l.id, l.item_id, l.lot, l.counted_qty - COALESCE(l.expected_qty, s.expected_qty, 0),
               i.unit_cost_cents, i.sku, i.active, i.is_kit, i.lot_tracked OR i.serial_tracked,
               i.serial_tracked, NULL, NULL, NULL)::stockline_count_line
      FROM count_lines l
      LEFT JOIN count_snapshot s ON s.task_id = l.task_id AND s.item_id = l.item_id AND s.lot = l.lot
      JOIN items i ON i.id = l.item_id
     WHERE l.task_id = p_task_id AND l.status = ANY (p_statuses)
     ORDER BY l.item_id, l.lot COLLATE "C");
  lines := cardinality(v_lines);
  IF lines = 0 THEN
    status := 'posted';
    RETURN;
  END IF;

  -- 2. Lock and read the balance rows of the lines that may post, in lock order; decide each line.
  v_lines := ARRAY(
    SELECT ROW(x.id, x.item_id, x.lot, x.variance, x.unit_cost, x.sku, x.active, x.is_kit, x.tracked, x.serial,
             b.item_id IS NOT NULL,
             CASE WHEN x.variance = 0 THEN 'matched'
                  WHEN x.too_big THEN 'pending_approval'
                  WHEN NOT x.active OR x.is_kit THEN 'needs_review'
                  WHEN x.variance > 0 THEN 'posted'
                  WHEN coalesce(b.on_hand, 0) + x.variance < 0 THEN 'needs_review'
                  WHEN coalesce(b.on_hand, 0) + x.variance < coalesce(b.held, 0) THEN 'needs_review'
                  ELSE 'posted' END,
             CASE WHEN x.variance = 0 OR x.too_big THEN ''
                  WHEN NOT x.active
                    THEN x.sku || ' is inactive, so its stock cannot be corrected. Reactivate it first.'
                  WHEN x.is_kit THEN x.sku || ' is a kit and has no stock of its own. Count its components.'
                  WHEN x.variance > 0 THEN ''
                  WHEN coalesce(b.on_hand, 0) + x.variance < 0
                    THEN 'Stock left ' || v_bin.code || ' while it was counted: taking ' || -x.variance
                         || ' off the ' || coalesce(b.on_hand, 0) || ' on hand now would go below zero.'
                         || ' Recount the bin.'
                  WHEN coalesce(b.on_hand, 0) + x.variance < coalesce(b.held, 0)
                    THEN 'Taking ' || -x.variance || ' off would leave ' || coalesce(b.on_hand, 0) + x.variance
                         || ' in ' || v_bin.code || ', but ' || coalesce(b.held, 0)
                         || ' are reserved for orders or on hold. Check the open picks, then recount.'
                  ELSE '' END)::stockline_count_line
      FROM (SELECT u.*, NOT p_approved AND NOT (abs(u.variance) <= p_units
                                                AND abs(u.variance) * u.unit_cost <= p_value_cents) AS too_big
              FROM unnest(v_lines) WITH ORDINALITY AS u(COLUMNS, n)) x
      LEFT JOIN (
        SELECT b.item_id, b.lot, b.on_hand, b.reserved + b.quarantined + b.damaged AS held
          FROM balances b
         WHERE b.location_id = v_bin.id
           AND (b.item_id, b.lot) IN (SELECT u.item_id, u.lot FROM unnest(v_lines) u
                                       WHERE u.variance <> 0 AND (p_approved OR (abs(u.variance) <= p_units
                                             AND abs(u.variance) * u.unit_cost <= p_value_cents)))
         ORDER BY b.item_id, b.location_id, b.lot COLLATE "C"
           FOR UPDATE OF b) b ON b.item_id = x.item_id AND b.lot = x.lot
     ORDER BY x.n);
  SELECT count(*) FILTER (WHERE u.status = 'posted'), count(*) FILTER (WHERE u.status = 'posted' AND u.has_row),
         bool_or(u.status IN ('pending_approval', 'needs_review')),
         bool_or(u.status = 'posted' AND (u.tracked <> (u.lot <> '') OR (u.serial AND abs(u.variance) <> 1)
                                          OR abs(u.variance) > qty_max))
    INTO v_posting, v_changes, waiting, v_refused
    FROM unnest(v_lines) u;

  IF v_posting > 0 THEN
    -- 3. What the ledger would refuse (a lot rule, a serial item, the quantity limit): the in-process
    -- path says it in its words.
    IF v_refused THEN
      status := 'fallback';
      RETURN;
    END IF;

    -- 4. Claim the key with its answer (movement numbers drawn first, under the movements lock).
    LOCK TABLE movements IN ROW EXCLUSIVE MODE;
    movement_ids := ARRAY(SELECT nextval('movements_id_seq') FROM generate_series(1, v_posting));
    INSERT INTO command_log (key, kind, payload_hash, result, actor, created_at)
      SELECT p_key, 'AdjustMany',
             encode(sha256(convert_to(v_doc_ref || string_agg(';' || u.item_id || ':' || u.lot || ':' || u.variance,
                                                              '' ORDER BY u.n), 'UTF8')), 'hex'),
             '{"movement_ids": [' || array_to_string(movement_ids, ', ') || '], "reservation_ids": []}',
             p_actor, p_now
        FROM unnest(v_lines) WITH ORDINALITY AS u(COLUMNS, n)
       WHERE u.status = 'posted'
      ON CONFLICT (key) DO NOTHING;
    IF NOT FOUND THEN
      status := 'fallback';
      movement_ids := '{}';
      RETURN;
    END IF;

    -- 5. Balances: the rows read in 2. change in one guarded update; a line without one (stock found
    -- where the ledger had none) adds its row.
    IF v_changes > 0 THEN
      UPDATE balances b SET on_hand = b.on_hand + u.variance
        FROM unnest(v_lines) u
       WHERE u.status = 'posted' AND u.has_row
         AND b.item_id = u.item_id AND b.location_id = v_bin.id AND b.lot = u.lot
         AND b.on_hand + u.variance >= 0 AND b.on_hand + u.variance - b.reserved - b.quarantined - b.damaged >= 0;
      GET DIAGNOSTICS v_done = ROW_COUNT;
      IF v_done <> v_changes THEN
        RAISE EXCEPTION 'stockline_settle_count: a balance read under lock no longer takes its correction';
      END IF;
    END IF;
    IF v_changes < v_posting THEN
      INSERT INTO balances AS b (item_id, location_id, lot, on_hand)
        SELECT u.item_id, v_bin.id, u.lot, u.variance FROM unnest(v_lines) u WHERE u.status = 'posted' AND NOT u.has_row
        ON CONFLICT (item_id, location_id, lot) DO UPDATE SET on_hand = b.on_hand + excluded.on_hand;
    END IF;

    -- 6. The movements, one per posted line, numbered in line order.
    INSERT INTO movements (id, idempotency_key, command_key, item_id, lot, qty, from_location_id, to_location_id,
                           from_state, to_state, reason, actor, doc_ref, reversal_of, created_at)
      SELECT movement_ids[m.k], p_key || '#' || (m.k - 1), p_key, m.item_id, m.lot, abs(m.variance),
             CASE WHEN m.variance > 0 THEN v_outside ELSE v_bin.id END,
             CASE WHEN m.variance > 0 THEN v_bin.id ELSE v_outside END,
             'available', 'available', 'count_correction', p_actor, v_doc_ref, NULL, p_now
        FROM (SELECT u.item_id, u.lot, u.variance, row_number() OVER (ORDER BY u.n) AS k
                FROM unnest(v_lines) WITH ORDINALITY AS u(COLUMNS, n) WHERE u.status = 'posted') m
       ORDER BY m.k;
  END IF;

  -- 7. Every line as settled.
  UPDATE count_lines c SET variance = u.variance, value_cents = abs(u.variance) * u.unit_cost, status = u.status,
         review_reason = u.reason, ledger_key = CASE WHEN u.status = 'posted' THEN p_key END
    FROM unnest(v_lines) u
   WHERE c.id = u.id;
  status := 'posted';
END
$fn$
""".replace("COLUMNS", _COLUMNS)


# The foreign keys from movements to items and locations go (PostgreSQL): each checked every inserted
# movement with a query of its own and locked the row it found, a fifth of a count post's cost. What they
# guaranteed holds by these instead: an item or location is never deleted nor renumbered (the triggers
# below, on both databases: deactivate instead); every ledger write resolves its item and locations from
# their tables in its transaction and changes the balance row of each stock-holding side, which keeps its
# foreign keys; and `stockline check` reports as drift any movement whose item or location does not exist
# (its stock can be in no balance row). command_key keeps its foreign key (command_log rows are deleted:
# a refused claim undoes itself).
_DROP_MOVEMENT_FKS = ("ALTER TABLE movements DROP CONSTRAINT movements_item_id_fkey,"
                      " DROP CONSTRAINT movements_from_location_id_fkey, DROP CONSTRAINT movements_to_location_id_fkey")

_KEEP_PG = r"""
CREATE FUNCTION stockline_keep_referenced() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% are never deleted or renumbered: movements name them. Deactivate instead.', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$fn$
"""

_KEPT = ("items", "locations")


def _keep(dialect: str, table: str) -> list[str]:
    if dialect == "postgres":
        return [f"CREATE TRIGGER {table}_kept BEFORE DELETE OR UPDATE OF id ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION stockline_keep_referenced()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION stockline_keep_referenced()"]
    refusal = f"SELECT RAISE(ABORT, '{table} are never deleted or renumbered: movements name them. Deactivate instead.')"
    return [f"CREATE TRIGGER {table}_not_deleted BEFORE DELETE ON {table} BEGIN {refusal}; END",
            f"CREATE TRIGGER {table}_not_renumbered BEFORE UPDATE OF id ON {table} WHEN NEW.id <> OLD.id"
            f" BEGIN {refusal}; END"]


def statements(dialect: str) -> list[str]:
    kept = [sql for table in _KEPT for sql in _keep(dialect, table)]
    if dialect != "postgres":
        return kept
    return [_LINE_TYPE.strip(), _SETTLE.strip(), _DROP_MOVEMENT_FKS, _KEEP_PG.strip(), *kept]
