"""The ledger in one round trip on PostgreSQL: `stockline_post(...)`, a function that posts a whole ledger
command as one statement (backend/domain/ledger/_onetrip.py builds its arguments).

In one call, and in this order (the order the in-process path of backend/domain/ledger/posting.py
keeps): resolve the item (by `sku_key`), its unit and the locations (by `code_key`) or the reservation
or movement the command names, and check them; claim the idempotency key in `command_log` (a key
already claimed with the same kind and payload hash answers with the stored result, `replayed`);
apply the net balance change per (item_id, location_id, lot) **sorted in that order** — the lock
order of every ledger write, so two commands touching the same rows queue instead of deadlocking — as
an upsert when it can only add, else a guarded conditional UPDATE; insert the movement, the
reservations and (for `execute_as`) the audit row; store the result with the key.

It never raises for what the domain refuses. Anything the in-process path would answer with a
domain error other than missing stock (unknown SKU or bin, a kit, a lot rule, a key used with other
content...) returns `fallback` with nothing written, and the caller runs the in-process path, whose
errors are the ledger's words. A guard that fails returns `insufficient` after undoing what the call
had written (its claim, the balance changes before the failing one, the reservation it took from),
with the figures InsufficientStock reports. So a caller inside its own transaction needs no savepoint:
a refused command leaves nothing behind.

Movement ids are drawn after the key is claimed (the transaction already has its xid then): the
ledger check's settled horizon (backend/domain/ledger/_checkpoint.py) relies on a numbered movement
belonging to a transaction that is visibly in progress.

The stock-holding location kinds are STOCK_KINDS of backend/domain/locations/service.py, frozen here.
SQLite has no functions of this kind; it keeps the in-process path.
"""

NAME = "ledger_one_round_trip"

_POST = r"""
CREATE FUNCTION stockline_post(
  p_key text, p_kind text, p_hash text, p_actor text, p_now timestamptz, p_doc_ref text, p_mode text,
  p_sku text[], p_unit text[], p_lot text[], p_qty bigint[],
  p_src text[], p_dst text[], p_src_stock boolean[], p_dst_stock boolean[],
  p_src_state text[], p_dst_state text[], p_reason text[], p_distinct boolean, p_expiry date,
  p_order_ref text, p_expires_at timestamptz,
  p_reservation_id bigint, p_take bigint, p_final_status text, p_pick boolean, p_to text,
  p_movement_id bigint, p_reverse_reason text,
  p_audit_device text, p_audit_action text, p_audit_after text, p_audit_marker text,
  OUT status text, OUT movement_ids bigint[], OUT reservation_ids bigint[], OUT stored text,
  OUT short_sku text, OUT short_where text, OUT short_requested bigint, OUT short_have bigint,
  OUT elsewhere_codes text[], OUT elsewhere_available bigint[])
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  stock_kinds CONSTANT text[] := ARRAY['bin', 'staging', 'in_transit', 'scrap'];
  qty_max CONSTANT bigint := 1000000000;
  n integer := coalesce(array_length(p_sku, 1), 0);
  i integer;
  it record;
  src record;
  dst record;
  rv record;
  mv record;
  logged record;
  bal record;
  v_factor bigint;
  v_qty bigint;
  v_take bigint := 0;
  v_doc_ref text := p_doc_ref;
  v_new boolean;
  v_fail integer := 0;
  -- legs: one movement each
  l_item bigint[] := '{}'; l_lot text[] := '{}'; l_qty bigint[] := '{}'; l_src bigint[] := '{}';
  l_dst bigint[] := '{}'; l_src_state text[] := '{}'; l_dst_state text[] := '{}'; l_reason text[] := '{}';
  l_reversal_of bigint[] := '{}';
  -- reservation lines (Reserve)
  r_item bigint[] := '{}'; r_loc bigint[] := '{}'; r_lot text[] := '{}'; r_qty bigint[] := '{}';
  -- signed sides at stock-holding locations, summed per key into the deltas
  s_item bigint[] := '{}'; s_loc bigint[] := '{}'; s_lot text[] := '{}'; s_oh bigint[] := '{}';
  s_res bigint[] := '{}'; s_q bigint[] := '{}'; s_d bigint[] := '{}';
  -- net change per balance row, in lock order
  ns integer;
  nd integer := 0;
  k integer;
  d_item bigint[] := '{}'; d_loc bigint[] := '{}'; d_lot text[] := '{}'; d_oh bigint[] := '{}';
  d_res bigint[] := '{}'; d_q bigint[] := '{}'; d_d bigint[] := '{}';
  -- deltas applied so far, to undo them when a later one is refused
  a_item bigint[] := '{}'; a_loc bigint[] := '{}'; a_lot text[] := '{}'; a_oh bigint[] := '{}';
  a_res bigint[] := '{}'; a_q bigint[] := '{}'; a_d bigint[] := '{}'; a_new boolean[] := '{}';
BEGIN
  movement_ids := '{}';
  reservation_ids := '{}';

  -- 1. Resolve and check: read only; a problem is the in-process path's to name.
  IF p_mode IN ('legs', 'reserve') THEN
    FOR i IN 1..n LOOP
      SELECT id, active, is_kit, lot_tracked, serial_tracked, base_unit INTO it FROM items WHERE sku_key = p_sku[i];
      IF NOT FOUND OR NOT it.active OR it.is_kit THEN status := 'fallback'; RETURN; END IF;
      IF p_unit[i] = '' OR p_unit[i] = it.base_unit THEN
        v_factor := 1;
      ELSE
        SELECT factor INTO v_factor FROM item_units WHERE item_id = it.id AND unit = p_unit[i];
        IF NOT FOUND THEN status := 'fallback'; RETURN; END IF;
      END IF;
      IF p_qty[i] < 1 OR p_qty[i] > qty_max OR p_qty[i] * v_factor > qty_max THEN
        status := 'fallback'; RETURN;
      END IF;
      v_qty := p_qty[i] * v_factor;
      IF (it.lot_tracked OR it.serial_tracked) <> (p_lot[i] <> '') OR (it.serial_tracked AND v_qty <> 1) THEN
        status := 'fallback'; RETURN;
      END IF;
      SELECT id, kind INTO src FROM locations WHERE code_key = p_src[i];
      IF NOT FOUND OR (p_src_stock[i] AND NOT src.kind = ANY (stock_kinds)) THEN status := 'fallback'; RETURN; END IF;
      IF p_mode = 'reserve' THEN
        r_item := r_item || it.id; r_loc := r_loc || src.id; r_lot := r_lot || p_lot[i]; r_qty := r_qty || v_qty;
        s_item := s_item || it.id; s_loc := s_loc || src.id; s_lot := s_lot || p_lot[i]; s_oh := s_oh || 0::bigint;
        s_res := s_res || v_qty; s_q := s_q || 0::bigint; s_d := s_d || 0::bigint;
        CONTINUE;
      END IF;
      SELECT id, kind INTO dst FROM locations WHERE code_key = p_dst[i];
      IF NOT FOUND OR (p_dst_stock[i] AND NOT dst.kind = ANY (stock_kinds)) OR (p_distinct AND src.id = dst.id) THEN
        status := 'fallback'; RETURN;
      END IF;
      l_item := l_item || it.id; l_lot := l_lot || p_lot[i]; l_qty := l_qty || v_qty;
      l_src := l_src || src.id; l_dst := l_dst || dst.id; l_src_state := l_src_state || p_src_state[i];
      l_dst_state := l_dst_state || p_dst_state[i]; l_reason := l_reason || p_reason[i];
      l_reversal_of := l_reversal_of || NULL::bigint;
      IF src.kind = ANY (stock_kinds) THEN
        s_item := s_item || it.id; s_loc := s_loc || src.id; s_lot := s_lot || p_lot[i]; s_oh := s_oh || -v_qty;
        s_res := s_res || 0::bigint;
        s_q := s_q || CASE WHEN p_src_state[i] = 'quarantined' THEN -v_qty ELSE 0 END;
        s_d := s_d || CASE WHEN p_src_state[i] = 'damaged' THEN -v_qty ELSE 0 END;
      END IF;
      IF dst.kind = ANY (stock_kinds) THEN
        s_item := s_item || it.id; s_loc := s_loc || dst.id; s_lot := s_lot || p_lot[i]; s_oh := s_oh || v_qty;
        s_res := s_res || 0::bigint;
        s_q := s_q || CASE WHEN p_dst_state[i] = 'quarantined' THEN v_qty ELSE 0 END;
        s_d := s_d || CASE WHEN p_dst_state[i] = 'damaged' THEN v_qty ELSE 0 END;
      END IF;
    END LOOP;
  ELSIF p_mode = 'take' THEN
    SELECT r.id, r.item_id, r.location_id, r.lot, r.open_qty, l.warehouse_id INTO rv
      FROM reservations r JOIN locations l ON l.id = r.location_id WHERE r.id = p_reservation_id AND r.status = 'open';
    IF NOT FOUND THEN status := 'fallback'; RETURN; END IF;
    v_take := coalesce(p_take, rv.open_qty);
    IF v_take < 1 OR v_take > rv.open_qty THEN status := 'fallback'; RETURN; END IF;
    s_item := ARRAY[rv.item_id]; s_loc := ARRAY[rv.location_id]; s_lot := ARRAY[rv.lot];
    s_oh := ARRAY[0::bigint]; s_res := ARRAY[-v_take]; s_q := ARRAY[0::bigint]; s_d := ARRAY[0::bigint];
    IF p_pick THEN
      IF p_to <> '' THEN
        SELECT id, kind INTO dst FROM locations WHERE code_key = p_to;
        IF NOT FOUND OR NOT dst.kind = ANY (stock_kinds) THEN status := 'fallback'; RETURN; END IF;
      ELSE
        SELECT id, kind INTO dst FROM locations WHERE warehouse_id = rv.warehouse_id AND kind = 'staging'
          ORDER BY id LIMIT 1;
        IF NOT FOUND THEN status := 'fallback'; RETURN; END IF;
      END IF;
      IF dst.id = rv.location_id THEN status := 'fallback'; RETURN; END IF;
      l_item := ARRAY[rv.item_id]; l_lot := ARRAY[rv.lot]; l_qty := ARRAY[v_take]; l_src := ARRAY[rv.location_id];
      l_dst := ARRAY[dst.id]; l_src_state := ARRAY['available']; l_dst_state := ARRAY['available'];
      l_reason := ARRAY['pick']; l_reversal_of := ARRAY[NULL::bigint];
      s_item := s_item || rv.item_id || rv.item_id; s_loc := s_loc || rv.location_id || dst.id;
      s_lot := s_lot || rv.lot || rv.lot; s_oh := s_oh || -v_take || v_take; s_res := s_res || 0::bigint || 0::bigint;
      s_q := s_q || 0::bigint || 0::bigint; s_d := s_d || 0::bigint || 0::bigint;
    END IF;
    reservation_ids := ARRAY[p_reservation_id];
  ELSIF p_mode = 'reverse' THEN
    SELECT * INTO mv FROM movements WHERE id = p_movement_id;
    IF NOT FOUND OR mv.reversal_of IS NOT NULL
       OR EXISTS (SELECT 1 FROM movements WHERE reversal_of = p_movement_id) THEN
      status := 'fallback'; RETURN;
    END IF;
    SELECT id, kind INTO src FROM locations WHERE id = mv.to_location_id;
    SELECT id, kind INTO dst FROM locations WHERE id = mv.from_location_id;
    l_item := ARRAY[mv.item_id]; l_lot := ARRAY[mv.lot]; l_qty := ARRAY[mv.qty]; l_src := ARRAY[src.id];
    l_dst := ARRAY[dst.id]; l_src_state := ARRAY[mv.to_state]; l_dst_state := ARRAY[mv.from_state];
    l_reason := ARRAY[p_reverse_reason]; l_reversal_of := ARRAY[mv.id];
    IF v_doc_ref = '' THEN v_doc_ref := mv.doc_ref; END IF;
    IF src.kind = ANY (stock_kinds) THEN
      s_item := s_item || mv.item_id; s_loc := s_loc || src.id; s_lot := s_lot || mv.lot; s_oh := s_oh || -mv.qty;
      s_res := s_res || 0::bigint;
      s_q := s_q || CASE WHEN mv.to_state = 'quarantined' THEN -mv.qty ELSE 0 END;
      s_d := s_d || CASE WHEN mv.to_state = 'damaged' THEN -mv.qty ELSE 0 END;
    END IF;
    IF dst.kind = ANY (stock_kinds) THEN
      s_item := s_item || mv.item_id; s_loc := s_loc || dst.id; s_lot := s_lot || mv.lot; s_oh := s_oh || mv.qty;
      s_res := s_res || 0::bigint;
      s_q := s_q || CASE WHEN mv.from_state = 'quarantined' THEN mv.qty ELSE 0 END;
      s_d := s_d || CASE WHEN mv.from_state = 'damaged' THEN mv.qty ELSE 0 END;
    END IF;
  ELSE
    RAISE EXCEPTION 'stockline_post: unknown mode %', p_mode;
  END IF;

  -- 2. Claim the key with its result (the numbers of the rows the command adds are drawn first; the
  -- movements lock is taken before a movement number is, see the docstring); the same key with the same
  -- content answers with its stored result.
  IF coalesce(array_length(l_item, 1), 0) > 0 THEN
    LOCK TABLE movements IN ROW EXCLUSIVE MODE;
    FOR i IN 1..array_length(l_item, 1) LOOP
      movement_ids := movement_ids || nextval('movements_id_seq');
    END LOOP;
  END IF;
  FOR i IN 1..coalesce(array_length(r_item, 1), 0) LOOP
    reservation_ids := reservation_ids || nextval('reservations_id_seq');
  END LOOP;
  stored := '{"movement_ids": [' || array_to_string(movement_ids, ', ') || '], "reservation_ids": ['
            || array_to_string(reservation_ids, ', ') || ']}';
  INSERT INTO command_log (key, kind, payload_hash, result, actor, created_at)
    VALUES (p_key, p_kind, p_hash, stored, p_actor, p_now) ON CONFLICT (key) DO NOTHING;
  IF NOT FOUND THEN
    movement_ids := '{}';
    reservation_ids := '{}';
    SELECT c.kind, c.payload_hash, c.result, c.compacted_at INTO logged FROM command_log c WHERE c.key = p_key;
    IF logged.compacted_at IS NULL AND logged.kind = p_kind AND logged.payload_hash = p_hash AND logged.result <> '' THEN
      status := 'replayed'; stored := logged.result; RETURN;
    END IF;
    stored := NULL;
    status := 'fallback'; RETURN;  -- another payload, an expired answer: the in-process path says which
  END IF;

  -- 3. Take from the reservation (guarded: it may have changed since it was read).
  IF p_mode = 'take' THEN
    UPDATE reservations SET open_qty = open_qty - v_take,
           status = CASE WHEN open_qty - v_take = 0 THEN p_final_status ELSE status END
     WHERE id = p_reservation_id AND status = 'open' AND open_qty >= v_take;
    IF NOT FOUND THEN
      DELETE FROM command_log WHERE key = p_key;
      movement_ids := '{}';
      stored := NULL;
      status := 'fallback'; RETURN;
    END IF;
  END IF;

  -- 4. Balances, one net change per key, in lock order (item_id, location_id, lot). A command of one leg
  -- changes at most two rows: merged and ordered here; more go through one grouping query.
  ns := coalesce(array_length(s_item, 1), 0);
  IF ns <= 3 THEN
    FOR i IN 1..ns LOOP
      IF nd > 0 AND d_item[1] = s_item[i] AND d_loc[1] = s_loc[i] AND d_lot[1] = s_lot[i] THEN k := 1;
      ELSIF nd > 1 AND d_item[2] = s_item[i] AND d_loc[2] = s_loc[i] AND d_lot[2] = s_lot[i] THEN k := 2;
      ELSE
        nd := nd + 1; k := nd;
        d_item[k] := s_item[i]; d_loc[k] := s_loc[i]; d_lot[k] := s_lot[i];
        d_oh[k] := 0; d_res[k] := 0; d_q[k] := 0; d_d[k] := 0;
      END IF;
      d_oh[k] := d_oh[k] + s_oh[i]; d_res[k] := d_res[k] + s_res[i]; d_q[k] := d_q[k] + s_q[i];
      d_d[k] := d_d[k] + s_d[i];
    END LOOP;
  END IF;
  IF ns <= 3 AND nd <= 2 THEN
    IF nd = 2 AND (d_item[1] > d_item[2] OR (d_item[1] = d_item[2] AND (d_loc[1] > d_loc[2]
        OR (d_loc[1] = d_loc[2] AND d_lot[1] COLLATE "C" > d_lot[2])))) THEN
      d_item := ARRAY[d_item[2], d_item[1]]; d_loc := ARRAY[d_loc[2], d_loc[1]]; d_lot := ARRAY[d_lot[2], d_lot[1]];
      d_oh := ARRAY[d_oh[2], d_oh[1]]; d_res := ARRAY[d_res[2], d_res[1]]; d_q := ARRAY[d_q[2], d_q[1]];
      d_d := ARRAY[d_d[2], d_d[1]];
    END IF;
  ELSE
    SELECT coalesce(array_agg(g.item ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}'),
           coalesce(array_agg(g.loc ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}'),
           coalesce(array_agg(g.lot ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}'),
           coalesce(array_agg(g.oh ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}'),
           coalesce(array_agg(g.res ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}'),
           coalesce(array_agg(g.q ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}'),
           coalesce(array_agg(g.dm ORDER BY g.item, g.loc, g.lot COLLATE "C"), '{}')
      INTO d_item, d_loc, d_lot, d_oh, d_res, d_q, d_d
      FROM (SELECT s.item, s.loc, s.lot, sum(s.oh)::bigint AS oh, sum(s.res)::bigint AS res, sum(s.q)::bigint AS q,
                   sum(s.dm)::bigint AS dm
              FROM unnest(s_item, s_loc, s_lot, s_oh, s_res, s_q, s_d) AS s(item, loc, lot, oh, res, q, dm)
             GROUP BY s.item, s.loc, s.lot) g;
    nd := coalesce(array_length(d_item, 1), 0);
  END IF;
  FOR i IN 1..nd LOOP
    CONTINUE WHEN d_oh[i] = 0 AND d_res[i] = 0 AND d_q[i] = 0 AND d_d[i] = 0;
    IF least(d_oh[i], d_res[i], d_q[i], d_d[i]) >= 0 AND d_oh[i] - d_res[i] - d_q[i] - d_d[i] >= 0 THEN
      INSERT INTO balances AS b (item_id, location_id, lot, on_hand, reserved, quarantined, damaged)
        VALUES (d_item[i], d_loc[i], d_lot[i], d_oh[i], d_res[i], d_q[i], d_d[i])
        ON CONFLICT (item_id, location_id, lot) DO UPDATE SET on_hand = b.on_hand + excluded.on_hand,
           reserved = b.reserved + excluded.reserved, quarantined = b.quarantined + excluded.quarantined,
           damaged = b.damaged + excluded.damaged
        RETURNING (b.xmax = 0) INTO v_new;
    ELSE
      -- Guarded conditional update: the database checks and changes the row in one statement.
      UPDATE balances SET on_hand = on_hand + d_oh[i], reserved = reserved + d_res[i],
             quarantined = quarantined + d_q[i], damaged = damaged + d_d[i]
       WHERE item_id = d_item[i] AND location_id = d_loc[i] AND lot = d_lot[i]
         AND on_hand + d_oh[i] >= 0 AND reserved + d_res[i] >= 0 AND quarantined + d_q[i] >= 0
         AND damaged + d_d[i] >= 0
         AND (on_hand + d_oh[i]) - (reserved + d_res[i]) - (quarantined + d_q[i]) - (damaged + d_d[i]) >= 0;
      IF NOT FOUND THEN v_fail := i; EXIT; END IF;
      v_new := false;
    END IF;
    a_item := a_item || d_item[i]; a_loc := a_loc || d_loc[i]; a_lot := a_lot || d_lot[i]; a_oh := a_oh || d_oh[i];
    a_res := a_res || d_res[i]; a_q := a_q || d_q[i]; a_d := a_d || d_d[i]; a_new := a_new || v_new;
  END LOOP;

  IF v_fail > 0 THEN
    -- Undo this call's writes, then say what is there (as posting._insufficient does).
    FOR i IN 1..coalesce(array_length(a_item, 1), 0) LOOP
      IF a_new[i] THEN
        DELETE FROM balances WHERE item_id = a_item[i] AND location_id = a_loc[i] AND lot = a_lot[i];
      ELSE
        UPDATE balances SET on_hand = on_hand - a_oh[i], reserved = reserved - a_res[i],
               quarantined = quarantined - a_q[i], damaged = damaged - a_d[i]
         WHERE item_id = a_item[i] AND location_id = a_loc[i] AND lot = a_lot[i];
      END IF;
    END LOOP;
    IF p_mode = 'take' THEN
      UPDATE reservations SET open_qty = open_qty + v_take, status = 'open' WHERE id = p_reservation_id;
    END IF;
    DELETE FROM command_log WHERE key = p_key;
    SELECT on_hand, reserved, quarantined, damaged INTO bal FROM balances
     WHERE item_id = d_item[v_fail] AND location_id = d_loc[v_fail] AND lot = d_lot[v_fail];
    IF NOT FOUND THEN SELECT 0::bigint AS on_hand, 0::bigint AS reserved, 0::bigint AS quarantined,
                             0::bigint AS damaged INTO bal; END IF;
    IF d_q[v_fail] < 0 THEN short_requested := -d_q[v_fail]; short_have := bal.quarantined;
    ELSIF d_d[v_fail] < 0 THEN short_requested := -d_d[v_fail]; short_have := bal.damaged;
    ELSIF d_res[v_fail] < 0 THEN short_requested := -d_res[v_fail]; short_have := bal.reserved;
    ELSE
      short_requested := -(d_oh[v_fail] - d_res[v_fail] - d_q[v_fail] - d_d[v_fail]);
      short_have := bal.on_hand - bal.reserved - bal.quarantined - bal.damaged;
    END IF;
    SELECT sku INTO short_sku FROM items WHERE id = d_item[v_fail];
    SELECT code || CASE WHEN d_lot[v_fail] <> '' THEN ' (lot ' || d_lot[v_fail] || ')' ELSE '' END INTO short_where
      FROM locations WHERE id = d_loc[v_fail];
    SELECT coalesce(array_agg(e.code ORDER BY e.n), '{}'), coalesce(array_agg(e.available ORDER BY e.n), '{}')
      INTO elsewhere_codes, elsewhere_available
      FROM (SELECT l.code, b.on_hand - b.reserved - b.quarantined - b.damaged AS available,
                   row_number() OVER (ORDER BY b.on_hand - b.reserved - b.quarantined - b.damaged DESC, l.code) AS n
              FROM balances b JOIN locations l ON l.id = b.location_id
             WHERE b.item_id = d_item[v_fail] AND b.location_id <> d_loc[v_fail] AND l.kind = 'bin'
               AND b.on_hand - b.reserved - b.quarantined - b.damaged > 0
             ORDER BY available DESC, l.code LIMIT 5) e;
    movement_ids := '{}';
    reservation_ids := '{}';
    stored := NULL;
    status := 'insufficient';
    RETURN;
  END IF;

  -- 5. What the command adds: lot expiry, reservations, movements (their numbers drawn in 2.), its audit row.
  IF p_expiry IS NOT NULL AND n = 1 AND p_lot[1] <> '' THEN
    INSERT INTO lots (item_id, lot, expiry) VALUES (l_item[1], p_lot[1], p_expiry) ON CONFLICT (item_id, lot) DO NOTHING;
  END IF;
  IF p_mode = 'reserve' THEN
    INSERT INTO reservations (id, command_key, item_id, location_id, lot, qty, open_qty, status, order_ref, expires_at,
                              created_at)
      SELECT reservation_ids[r.n], p_key, r.item, r.loc, r.lot, r.qty, r.qty, 'open', p_order_ref, p_expires_at, p_now
        FROM (SELECT u.*, row_number() OVER (ORDER BY u.item, u.loc, u.lot COLLATE "C", u.ord) AS n
                FROM unnest(r_item, r_loc, r_lot, r_qty) WITH ORDINALITY AS u(item, loc, lot, qty, ord)) r;
  END IF;
  FOR i IN 1..coalesce(array_length(l_item, 1), 0) LOOP
    INSERT INTO movements (id, idempotency_key, command_key, item_id, lot, qty, from_location_id, to_location_id,
                           from_state, to_state, reason, actor, doc_ref, reversal_of, created_at)
      VALUES (movement_ids[i], p_key || '#' || (i - 1), p_key, l_item[i], l_lot[i], l_qty[i], l_src[i], l_dst[i],
              l_src_state[i], l_dst_state[i], l_reason[i], p_actor, v_doc_ref, l_reversal_of[i], p_now);
  END LOOP;
  IF p_audit_action IS NOT NULL THEN
    INSERT INTO audit_log (at, actor, device, action, entity, entity_id, before, after)
      VALUES (p_now, p_actor, p_audit_device, p_audit_action, 'command', p_key, '',
              replace(p_audit_after, p_audit_marker, '[' || array_to_string(movement_ids, ', ') || ']'));
  END IF;
  status := 'posted';
END
$fn$
"""


# A statement that embeds stockline_post (sync/inbox.py: a replayed scan's inbox row in the same statement)
# calls this to undo all of it when a part it needs did not happen.
_ABORT_UNLESS = r"""
CREATE FUNCTION stockline_abort_unless(ok boolean, reason text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION '%', reason USING ERRCODE = 'SL409';
  END IF;
  RETURN true;
END
$fn$
"""

# Balance rows change on every posting: room on their pages keeps those updates HOT (no new index
# entries, less WAL). Applies to pages written from now on.
_BALANCES_FILLFACTOR = "ALTER TABLE balances SET (fillfactor = 70)"


def statements(dialect: str) -> list[str]:
    return [_POST.strip(), _ABORT_UNLESS.strip(), _BALANCES_FILLFACTOR] if dialect == "postgres" else []
