"""PostgreSQL: `stockline_post_legs(members jsonb)`, the group commit's flush of one-leg ledger commands
(receive, move, adjust, quarantine, release, scrap, ship) as a dozen set-based statements for the whole
flush, where a UNION ALL of `stockline_post` calls (m0012) ran eight of its own per command plus a lock
step that resolved every code a second time.

`members` is a JSON array of one array per command, its fields in the order of LEGS_MEMBER_FIELDS in
backend/domain/ledger/_onetrip.py (the one-leg subset of stockline_post's arguments). It returns one
row per member, `k` its place in the array (from 0), with stockline_post's columns.

What it does, in order:
1. Resolves every member's item, unit and bins by the rules of stockline_post's step 1, and whether its
   key is new (not in command_log, not earlier in the array): one query, each lookup by a unique index.
   A member that does not pass is left for step 6.
2. Locks the existing balance rows the resolved members change, one after the other in the ledger's lock
   order (item_id, location_id, lot), and reads them: two flushes, or a flush and a ledger command, queue
   on them instead of deadlocking.
3. Takes the members in their order: per balance row the running sum of their net changes on top of the
   locked row (0 for a row not there yet) must keep every guard of stockline_post (no column below 0,
   available not below 0). The first member that breaks one is set aside and the sums are taken again
   without it, until none does: exactly the members that post when posted one after the other, each
   one that would be refused skipped.
4. Draws their movement numbers (under the movements lock, as stockline_post does; see m0012) and claims
   their keys with their results; a key another transaction claimed since step 1 raises, and the group
   commit sends each member again alone.
5. Applies the net change per balance row: a guarded UPDATE of the locked rows (by id), an upsert in lock
   order of rows that were not there (they only gain); inserts the movements, the lots' expiry dates and
   the audit rows, each as one statement.
6. Posts every member set aside, in order, by `stockline_post` itself, after the others: it answers
   exactly as it would posted alone right then (posted, insufficient with the stock as it is then,
   replayed, fallback).

So a flush answers as if its members were posted one after the other, those set aside last. Its
statements run with generic plans (plan_cache_mode): each is a fixed shape of index lookups and small
in-memory joins, and planning them again for every flush cost more than running them.

With `strict`, a member that would be set aside, or that stockline_post does not answer `replayed`,
raises SL409 with its place as DETAIL instead (nothing is kept). `stockline_replay_legs(scans, members)`
posts a batch's consecutive move scans that way (sync/inbox.py record_moves), then writes their inbox rows
and advances their devices' seqs, one statement each for all of them; it replaces m0016's
stockline_replay_move calls.
"""

NAME = "post_legs_together"

_POST_LEGS = r"""
CREATE FUNCTION stockline_post_legs(p_members jsonb, p_strict boolean DEFAULT false)
RETURNS TABLE (k integer, status text, movement_ids bigint[], reservation_ids bigint[], stored text,
               short_sku text, short_where text, short_requested bigint, short_have bigint,
               elsewhere_codes text[], elsewhere_available bigint[])
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
  stock_kinds CONSTANT text[] := ARRAY['bin', 'staging', 'in_transit', 'scrap'];
  qty_max CONSTANT numeric := 1000000000;
  m_ok boolean[];
  m_item bigint[];
  m_src bigint[];
  m_dst bigint[];
  m_qty bigint[];
  any_expiry boolean;
  any_audit boolean;
  -- one side of a member at a stock-holding location: (member, balance row, its change)
  s_m integer[]; s_item bigint[]; s_loc bigint[]; s_lot text[]; s_oh bigint[]; s_q bigint[]; s_d bigint[];
  dropped integer[] := '{}';
  breaking integer;
  accepted integer[];
  ids bigint[];
  n_accepted integer;
  n_done integer;
  -- the existing balance rows they change, locked
  e_id bigint[]; e_item bigint[]; e_loc bigint[]; e_lot text[]; e_oh bigint[]; e_res bigint[]; e_q bigint[];
  e_d bigint[];
  -- net change per balance row of the accepted members: of a locked row (by id); of a new one, in lock order
  u_id bigint[]; u_oh bigint[]; u_q bigint[]; u_d bigint[];
  n_item bigint[]; n_loc bigint[]; n_lot text[]; n_oh bigint[]; n_q bigint[]; n_d bigint[];
  mem jsonb;
  posted record;
  i integer;
BEGIN
  -- 1. Resolve and check (read only); and the resolved members' sides at stock-holding locations, with
  -- their signed changes.
  WITH r AS (
    SELECT x.ord::integer AS ord, x.item, x.src, x.dst, x.qty, x.lot, x.src_state, x.dst_state, x.src_side,
           x.dst_side, x.has_expiry, x.has_audit,
           coalesce(x.valid AND x.qty BETWEEN 1 AND qty_max AND NOT x.logged
                    AND row_number() OVER (PARTITION BY x.key ORDER BY x.ord) = 1, false) AS ok
      FROM (SELECT e.ord, e.m ->> 0 AS key, it.id AS item, s.id AS src, d.id AS dst, e.m ->> 8 AS lot,
                   e.m ->> 14 AS src_state, e.m ->> 15 AS dst_state,
                   CASE WHEN (e.m ->> 9)::numeric BETWEEN 1 AND qty_max AND (e.m ->> 9)::numeric * f.factor <= qty_max
                        THEN (e.m ->> 9)::bigint * f.factor END AS qty,
                   coalesce(s.kind = ANY (stock_kinds), false) AS src_side,
                   coalesce(d.kind = ANY (stock_kinds), false) AS dst_side,
                   it.active AND NOT it.is_kit AND f.factor IS NOT NULL
                     AND (it.lot_tracked OR it.serial_tracked) = (e.m ->> 8 <> '')
                     AND NOT (it.serial_tracked AND (e.m ->> 9)::numeric * f.factor <> 1)
                     AND (NOT (e.m ->> 12)::boolean OR s.kind = ANY (stock_kinds))
                     AND (NOT (e.m ->> 13)::boolean OR d.kind = ANY (stock_kinds))
                     AND NOT ((e.m ->> 17)::boolean AND s.id = d.id) AS valid,
                   coalesce((SELECT true FROM command_log c WHERE c.key = e.m ->> 0 LIMIT 1), false) AS logged,
                   e.m ->> 18 IS NOT NULL AND e.m ->> 8 <> '' AS has_expiry, e.m ->> 20 IS NOT NULL AS has_audit
              FROM jsonb_array_elements(p_members) WITH ORDINALITY AS e(m, ord)
              LEFT JOIN LATERAL (SELECT i.id, i.active, i.is_kit, i.lot_tracked, i.serial_tracked, i.base_unit
                                   FROM items i WHERE i.sku_key = e.m ->> 6 LIMIT 1) it ON true
              LEFT JOIN LATERAL (
                SELECT 1::bigint AS factor WHERE e.m ->> 7 = '' OR e.m ->> 7 = it.base_unit
                UNION ALL
                SELECT u.factor FROM item_units u
                 WHERE u.item_id = it.id AND u.unit = e.m ->> 7 AND NOT (e.m ->> 7 = '' OR e.m ->> 7 = it.base_unit)
              ) f ON true
              LEFT JOIN LATERAL (SELECT l.id, l.kind FROM locations l WHERE l.code_key = e.m ->> 10 LIMIT 1) s ON true
              LEFT JOIN LATERAL (SELECT l.id, l.kind FROM locations l WHERE l.code_key = e.m ->> 11 LIMIT 1) d ON true
           ) x)
  SELECT rm.*, rs.* INTO m_ok, m_item, m_src, m_dst, m_qty, any_expiry, any_audit, s_m, s_item, s_loc, s_lot, s_oh,
                         s_q, s_d
    FROM (SELECT array_agg(r.ok ORDER BY r.ord), array_agg(r.item ORDER BY r.ord), array_agg(r.src ORDER BY r.ord),
                 array_agg(r.dst ORDER BY r.ord), array_agg(r.qty ORDER BY r.ord),
                 bool_or(r.ok AND r.has_expiry), bool_or(r.ok AND r.has_audit) FROM r) rm,
         (SELECT coalesce(array_agg(v.ord ORDER BY v.ord, v.dir), '{}'), coalesce(array_agg(v.item ORDER BY v.ord, v.dir), '{}'),
                 coalesce(array_agg(v.loc ORDER BY v.ord, v.dir), '{}'), coalesce(array_agg(v.lot ORDER BY v.ord, v.dir), '{}'),
                 coalesce(array_agg(v.oh ORDER BY v.ord, v.dir), '{}'), coalesce(array_agg(v.q ORDER BY v.ord, v.dir), '{}'),
                 coalesce(array_agg(v.dm ORDER BY v.ord, v.dir), '{}')
            FROM (SELECT r.ord, side.dir, r.item, side.loc, r.lot, side.sign * r.qty AS oh,
                         CASE WHEN side.state = 'quarantined' THEN side.sign * r.qty ELSE 0 END AS q,
                         CASE WHEN side.state = 'damaged' THEN side.sign * r.qty ELSE 0 END AS dm
                    FROM r CROSS JOIN LATERAL (VALUES (0, r.src, -1, r.src_state, r.src_side),
                                                      (1, r.dst, 1, r.dst_state, r.dst_side))
                                           AS side(dir, loc, sign, state, stocked)
                   WHERE r.ok AND side.stocked) v) rs;

  -- 2. Lock the existing rows, one after the other in lock order (each a lookup by the unique key), and
  -- read them.
  SELECT coalesce(array_agg(b.id ORDER BY k.ord), '{}'), coalesce(array_agg(k.item ORDER BY k.ord), '{}'),
         coalesce(array_agg(k.loc ORDER BY k.ord), '{}'), coalesce(array_agg(k.lot ORDER BY k.ord), '{}'),
         coalesce(array_agg(b.on_hand ORDER BY k.ord), '{}'), coalesce(array_agg(b.reserved ORDER BY k.ord), '{}'),
         coalesce(array_agg(b.quarantined ORDER BY k.ord), '{}'), coalesce(array_agg(b.damaged ORDER BY k.ord), '{}')
    INTO e_id, e_item, e_loc, e_lot, e_oh, e_res, e_q, e_d
    FROM (SELECT u.item, u.loc, u.lot, row_number() OVER (ORDER BY u.item, u.loc, u.lot COLLATE "C") AS ord
            FROM unnest(s_item, s_loc, s_lot) AS u(item, loc, lot)
           GROUP BY u.item, u.loc, u.lot
           ORDER BY u.item, u.loc, u.lot COLLATE "C") k
    CROSS JOIN LATERAL (SELECT b.id, b.on_hand, b.reserved, b.quarantined, b.damaged FROM balances b
                         WHERE b.item_id = k.item AND b.location_id = k.loc AND b.lot = k.lot
                           FOR UPDATE) b;

  -- 3. The members that post one after the other; the first that would break a guard is set aside, again.
  -- The same query gives, per balance row, the net change of the members it keeps: of a locked row by its
  -- id, of a row not there yet in lock order.
  LOOP
    SELECT min(w.m) FILTER (WHERE w.oh < 0 OR w.res < 0 OR w.q < 0 OR w.dm < 0 OR w.oh - w.res - w.q - w.dm < 0),
           coalesce(array_agg(w.id) FILTER (WHERE w.last AND w.id IS NOT NULL AND w.changes), '{}'),
           coalesce(array_agg(w.net_oh) FILTER (WHERE w.last AND w.id IS NOT NULL AND w.changes), '{}'),
           coalesce(array_agg(w.net_q) FILTER (WHERE w.last AND w.id IS NOT NULL AND w.changes), '{}'),
           coalesce(array_agg(w.net_dm) FILTER (WHERE w.last AND w.id IS NOT NULL AND w.changes), '{}'),
           coalesce(array_agg(w.item ORDER BY w.item, w.loc, w.lot COLLATE "C") FILTER (WHERE w.last AND w.id IS NULL AND w.changes), '{}'),
           coalesce(array_agg(w.loc ORDER BY w.item, w.loc, w.lot COLLATE "C") FILTER (WHERE w.last AND w.id IS NULL AND w.changes), '{}'),
           coalesce(array_agg(w.lot ORDER BY w.item, w.loc, w.lot COLLATE "C") FILTER (WHERE w.last AND w.id IS NULL AND w.changes), '{}'),
           coalesce(array_agg(w.net_oh ORDER BY w.item, w.loc, w.lot COLLATE "C") FILTER (WHERE w.last AND w.id IS NULL AND w.changes), '{}'),
           coalesce(array_agg(w.net_q ORDER BY w.item, w.loc, w.lot COLLATE "C") FILTER (WHERE w.last AND w.id IS NULL AND w.changes), '{}'),
           coalesce(array_agg(w.net_dm ORDER BY w.item, w.loc, w.lot COLLATE "C") FILTER (WHERE w.last AND w.id IS NULL AND w.changes), '{}')
      INTO breaking, u_id, u_oh, u_q, u_d, n_item, n_loc, n_lot, n_oh, n_q, n_d
      FROM (SELECT g.m, b.id, g.item, g.loc, g.lot,
                   coalesce(b.on_hand, 0) + sum(g.oh) OVER run AS oh, coalesce(b.reserved, 0) AS res,
                   coalesce(b.quarantined, 0) + sum(g.q) OVER run AS q, coalesce(b.damaged, 0) + sum(g.dm) OVER run AS dm,
                   sum(g.oh) OVER whole AS net_oh, sum(g.q) OVER whole AS net_q, sum(g.dm) OVER whole AS net_dm,
                   g.m = max(g.m) OVER whole AS last,
                   sum(g.oh) OVER whole <> 0 OR sum(g.q) OVER whole <> 0 OR sum(g.dm) OVER whole <> 0 AS changes
              FROM (SELECT s.m, s.item, s.loc, s.lot, sum(s.oh) AS oh, sum(s.q) AS q, sum(s.dm) AS dm
                      FROM unnest(s_m, s_item, s_loc, s_lot, s_oh, s_q, s_d) AS s(m, item, loc, lot, oh, q, dm)
                     WHERE NOT s.m = ANY (dropped)
                     GROUP BY s.m, s.item, s.loc, s.lot) g
              LEFT JOIN unnest(e_id, e_item, e_loc, e_lot, e_oh, e_res, e_q, e_d)
                     AS b(id, item_id, location_id, lot, on_hand, reserved, quarantined, damaged)
                ON b.item_id = g.item AND b.location_id = g.loc AND b.lot = g.lot
            WINDOW run AS (PARTITION BY g.item, g.loc, g.lot ORDER BY g.m),
                   whole AS (PARTITION BY g.item, g.loc, g.lot)) w;
    EXIT WHEN breaking IS NULL;
    IF p_strict THEN
      RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = (breaking - 1)::text,
        MESSAGE = format('scan %s of the statement was not applied together: not enough stock', breaking - 1);
    END IF;
    dropped := dropped || breaking;
  END LOOP;
  SELECT coalesce(array_agg(m.n ORDER BY m.n), '{}') INTO accepted
    FROM generate_subscripts(m_ok, 1) AS m(n) WHERE m_ok[m.n] AND NOT m.n = ANY (dropped);
  n_accepted := coalesce(array_length(accepted, 1), 0);

  IF n_accepted > 0 THEN
    -- 4. Movement numbers (under the movements lock, see m0012), then the keys with their results.
    LOCK TABLE movements IN ROW EXCLUSIVE MODE;
    SELECT array_agg(nextval('movements_id_seq') ORDER BY a.n) INTO ids FROM generate_series(1, n_accepted) AS a(n);
    INSERT INTO command_log (key, kind, payload_hash, result, actor, created_at)
      SELECT j.e ->> 0, j.e ->> 1, j.e ->> 2, '{"movement_ids": [' || ids[a.n] || '], "reservation_ids": []}',
             j.e ->> 3, (j.e ->> 4)::timestamptz
        FROM unnest(accepted) WITH ORDINALITY AS a(m, n), LATERAL (SELECT p_members -> (a.m - 1)) AS j(e)
      ON CONFLICT (key) DO NOTHING;
    GET DIAGNOSTICS n_done = ROW_COUNT;
    IF n_done <> n_accepted THEN
      RAISE EXCEPTION 'stockline_post_legs: a key was claimed meanwhile' USING ERRCODE = 'SL409';
    END IF;

    -- 5. Balances: the net change per row of the kept members (3.). The rows locked in 2. get a guarded
    -- UPDATE (by id: an index lookup each); a row that was not there can only gain, and is upserted in lock
    -- order (another transaction may have added it meanwhile).
    IF array_length(u_id, 1) > 0 THEN
      UPDATE balances b SET on_hand = b.on_hand + u_oh[array_position(u_id, b.id)],
             quarantined = b.quarantined + u_q[array_position(u_id, b.id)],
             damaged = b.damaged + u_d[array_position(u_id, b.id)]
       WHERE b.id = ANY (u_id)
         AND b.on_hand + u_oh[array_position(u_id, b.id)] >= 0 AND b.quarantined + u_q[array_position(u_id, b.id)] >= 0
         AND b.damaged + u_d[array_position(u_id, b.id)] >= 0
         AND (b.on_hand + u_oh[array_position(u_id, b.id)]) - b.reserved - (b.quarantined + u_q[array_position(u_id, b.id)])
             - (b.damaged + u_d[array_position(u_id, b.id)]) >= 0;
      GET DIAGNOSTICS n_done = ROW_COUNT;
      IF n_done <> array_length(u_id, 1) THEN
        RAISE EXCEPTION 'stockline_post_legs: a guarded balance update found less than was locked';
      END IF;
    END IF;
    IF array_length(n_item, 1) > 0 THEN
      INSERT INTO balances AS b (item_id, location_id, lot, on_hand, reserved, quarantined, damaged)
        SELECT g.item, g.loc, g.lot, g.oh, 0, g.q, g.dm
          FROM unnest(n_item, n_loc, n_lot, n_oh, n_q, n_d) WITH ORDINALITY AS g(item, loc, lot, oh, q, dm, ord)
         ORDER BY g.ord
        ON CONFLICT (item_id, location_id, lot) DO UPDATE SET on_hand = b.on_hand + excluded.on_hand,
           quarantined = b.quarantined + excluded.quarantined, damaged = b.damaged + excluded.damaged;
    END IF;

    -- What the commands add: movements, lot expiry dates, audit rows.
    INSERT INTO movements (id, idempotency_key, command_key, item_id, lot, qty, from_location_id, to_location_id,
                           from_state, to_state, reason, actor, doc_ref, reversal_of, created_at)
      SELECT ids[a.n], (j.e ->> 0) || '#0', j.e ->> 0, m_item[a.m], j.e ->> 8, m_qty[a.m], m_src[a.m], m_dst[a.m],
             j.e ->> 14, j.e ->> 15, j.e ->> 16, j.e ->> 3, j.e ->> 5, NULL, (j.e ->> 4)::timestamptz
        FROM unnest(accepted) WITH ORDINALITY AS a(m, n), LATERAL (SELECT p_members -> (a.m - 1)) AS j(e);
    IF any_expiry THEN
      INSERT INTO lots (item_id, lot, expiry)
        SELECT m_item[a.m], j.e ->> 8, (j.e ->> 18)::date
          FROM unnest(accepted) AS a(m), LATERAL (SELECT p_members -> (a.m - 1)) AS j(e)
         WHERE j.e ->> 18 IS NOT NULL AND j.e ->> 8 <> ''
        ON CONFLICT (item_id, lot) DO NOTHING;
    END IF;
    IF any_audit THEN
      INSERT INTO audit_log (at, actor, device, action, entity, entity_id, before, after)
        SELECT (j.e ->> 4)::timestamptz, j.e ->> 3, j.e ->> 19, j.e ->> 20, 'command', j.e ->> 0, '',
               replace(j.e ->> 21, j.e ->> 22, '[' || ids[a.n] || ']')
          FROM unnest(accepted) WITH ORDINALITY AS a(m, n), LATERAL (SELECT p_members -> (a.m - 1)) AS j(e)
         WHERE j.e ->> 20 IS NOT NULL;
    END IF;

    RETURN QUERY
      SELECT a.m - 1, 'posted'::text, ARRAY[ids[a.n]], '{}'::bigint[],
             '{"movement_ids": [' || ids[a.n] || '], "reservation_ids": []}', NULL::text, NULL::text, NULL::bigint,
             NULL::bigint, NULL::text[], NULL::bigint[]
        FROM unnest(accepted) WITH ORDINALITY AS a(m, n);
  END IF;

  -- 6. The others, one after the other, after the accepted ones.
  FOR i IN 1..coalesce(array_length(m_ok, 1), 0) LOOP
    CONTINUE WHEN i = ANY (accepted);
    mem := p_members -> (i - 1);
    SELECT * INTO posted FROM stockline_post(
        mem ->> 0, mem ->> 1, mem ->> 2, mem ->> 3, (mem ->> 4)::timestamptz, mem ->> 5, 'legs',
        ARRAY[mem ->> 6], ARRAY[mem ->> 7], ARRAY[mem ->> 8], ARRAY[(mem ->> 9)::bigint], ARRAY[mem ->> 10],
        ARRAY[mem ->> 11], ARRAY[(mem ->> 12)::boolean], ARRAY[(mem ->> 13)::boolean], ARRAY[mem ->> 14],
        ARRAY[mem ->> 15], ARRAY[mem ->> 16], (mem ->> 17)::boolean, (mem ->> 18)::date, '', NULL, NULL, NULL, '',
        false, '', NULL, '', mem ->> 19, mem ->> 20, mem ->> 21, mem ->> 22);
    IF p_strict AND posted.status <> 'replayed' THEN
      RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = (i - 1)::text,
        MESSAGE = format('scan %s of the statement was not applied together: %s', i - 1, posted.status);
    END IF;
    RETURN QUERY SELECT i - 1, posted.status, posted.movement_ids, posted.reservation_ids, posted.stored,
                        posted.short_sku, posted.short_where, posted.short_requested, posted.short_have,
                        posted.elsewhere_codes, posted.elsewhere_available;
  END LOOP;
END
$fn$
"""


# Replayed move scans of one batch, in seq order (sync/inbox.py record_moves): their postings as one strict
# flush (a scan that is not posted cleanly at its place raises SL409 with its place), then their inbox rows
# `applied` and their devices' seqs, each one statement for all of them. Replaces m0016's
# stockline_replay_move calls (a stockline_post each, plus an inbox row and a seq update each).
_REPLAY_LEGS = r"""
CREATE FUNCTION stockline_replay_legs(p_scans jsonb, p_members jsonb)
RETURNS TABLE (place integer, status text, movement_ids bigint[], reservation_ids bigint[], stored text,
               inbox_id bigint)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
  p_place integer[];
  p_status text[];
  p_ids text[];
  p_movement_ids text[];
  p_stored text[];
  inbox integer[];
  inbox_ids bigint[];
  bad integer;
BEGIN
  SELECT array_agg(p.k ORDER BY p.k), array_agg(p.status ORDER BY p.k), array_agg(p.movement_ids::text ORDER BY p.k),
         array_agg(p.stored ORDER BY p.k),
         array_agg(CASE WHEN p.status = 'posted' THEN '[' || array_to_string(p.movement_ids, ', ') || ']'
                        ELSE CAST(CAST(p.stored AS jsonb) -> 'movement_ids' AS text) END ORDER BY p.k)
    INTO p_place, p_status, p_ids, p_stored, p_movement_ids
    FROM stockline_post_legs(p_members, true) AS p;

  -- The inbox rows; a scan whose txn_id or (device, seq) is taken (or that comes twice) stops all: the first.
  WITH added AS (
    INSERT INTO sync_inbox (txn_id, device_id, seq, user_id, session_user_id, kind, payload_hash, status, reason,
                            result, scanned_at, received_at)
    SELECT x.s ->> 0, x.s ->> 1, (x.s ->> 2)::bigint, (x.s ->> 3)::bigint, (x.s ->> 4)::bigint, x.s ->> 5, x.s ->> 6,
           'applied', '', '{"movement_ids": ' || p_movement_ids[x.ord] || '}', x.s ->> 7, (x.s ->> 8)::timestamptz
      FROM jsonb_array_elements(p_scans) WITH ORDINALITY AS x(s, ord)
     ORDER BY x.ord
    ON CONFLICT DO NOTHING
    RETURNING sync_inbox.id, sync_inbox.txn_id)
  SELECT array_agg(x.ord::integer ORDER BY x.ord), array_agg(a.id ORDER BY x.ord),
         min(x.ord::integer) FILTER (WHERE a.id IS NULL)
    INTO inbox, inbox_ids, bad
    FROM (SELECT y.ord, y.s ->> 0 AS txn_id, row_number() OVER (PARTITION BY y.s ->> 0 ORDER BY y.ord) AS nth
            FROM jsonb_array_elements(p_scans) WITH ORDINALITY AS y(s, ord)) x
    LEFT JOIN added a ON a.txn_id = x.txn_id AND x.nth = 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = (bad - 1)::text,
      MESSAGE = format('scan %s of the statement was not applied together: its txn_id is taken', bad - 1);
  END IF;

  -- Each device's seqs: consecutive in the batch, the first one right after its highest_seq.
  SELECT min(t.ord) INTO bad
    FROM (SELECT x.ord::integer AS ord, (x.s ->> 2)::bigint AS seq,
                 lag((x.s ->> 2)::bigint) OVER (PARTITION BY x.s ->> 1 ORDER BY x.ord) AS prev
            FROM jsonb_array_elements(p_scans) WITH ORDINALITY AS x(s, ord)) t
   WHERE t.prev IS NOT NULL AND t.seq <> t.prev + 1;
  IF bad IS NULL THEN
    WITH firsts AS (
      SELECT x.s ->> 1 AS device_id, min(x.ord)::integer AS first_ord,
             (array_agg((x.s ->> 2)::bigint ORDER BY x.ord))[1] AS first_seq,
             (array_agg((x.s ->> 2)::bigint ORDER BY x.ord DESC))[1] AS last_seq
        FROM jsonb_array_elements(p_scans) WITH ORDINALITY AS x(s, ord)
       GROUP BY x.s ->> 1),
    moved AS (
      UPDATE sync_devices d SET highest_seq = f.last_seq FROM firsts f
       WHERE d.device_id = f.device_id AND d.highest_seq = f.first_seq - 1
      RETURNING d.device_id)
    SELECT min(f.first_ord) INTO bad FROM firsts f WHERE f.device_id NOT IN (SELECT m.device_id FROM moved m);
  END IF;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = (bad - 1)::text,
      MESSAGE = format('scan %s of the statement was not applied together: not its device''s next number', bad - 1);
  END IF;

  RETURN QUERY SELECT p_place[n], p_status[n], p_ids[n]::bigint[], '{}'::bigint[], p_stored[n], inbox_ids[n]
                 FROM generate_subscripts(p_place, 1) AS n;
END
$fn$
"""


def statements(dialect: str) -> list[str]:
    return [_POST_LEGS.strip(), _REPLAY_LEGS.strip()] if dialect == "postgres" else []
