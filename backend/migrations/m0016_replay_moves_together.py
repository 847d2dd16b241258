"""Replayed moves together on PostgreSQL: `stockline_replay_move(...)` applies one replayed move scan as
sync/inbox.py's one-statement path does (its ledger posting by `stockline_post`, its inbox row
`applied`, the device's next seq), so one statement can apply a run of a batch's moves by calling it
once per scan, in seq order (sync/inbox.py `record_moves`).

The function is VOLATILE, so each call's queries see what the calls before it in the same statement
wrote: a scan moving stock the previous scan brought, and each seq following the one before.

Each call takes its balance rows in the ledger's lock order (item_id, location_id, lot), but a statement
of several scans would hold one scan's rows while taking the next one's, out of that order: two such
statements, or one and a ledger command, could deadlock. So the statement first locks every existing
balance row its scans change, all at once and sorted (`stockline_lock_balances`), as one command of many
legs would; only a row created by the statement itself is taken later. A scan
that is not applied cleanly (the ledger refuses it or leaves it to the in-process path, its txn_id is
taken, it is not its device's next number) raises SL409 (as stockline_abort_unless, m0012) with the
scan's place in the statement as DETAIL: the whole statement is undone, and the caller applies that
scan alone by the general path.

SQLite has no functions of this kind; it replays one scan at a time.
"""

NAME = "replay_moves_together"

_POST_PARAMS = """
  p_key text, p_kind text, p_hash text, p_actor text, p_now timestamptz, p_doc_ref text, p_mode text,
  p_sku text[], p_unit text[], p_lot text[], p_qty bigint[],
  p_src text[], p_dst text[], p_src_stock boolean[], p_dst_stock boolean[],
  p_src_state text[], p_dst_state text[], p_reason text[], p_distinct boolean, p_expiry date,
  p_order_ref text, p_expires_at timestamptz,
  p_reservation_id bigint, p_take bigint, p_final_status text, p_pick boolean, p_to text,
  p_movement_id bigint, p_reverse_reason text,
  p_audit_device text, p_audit_action text, p_audit_after text, p_audit_marker text"""

_POST_ARGS = ", ".join(
    line.strip().split(" ")[0] for part in _POST_PARAMS.split(",") if (line := part.strip())
)

_REPLAY_MOVE = rf"""
CREATE FUNCTION stockline_replay_move(
  p_place integer, p_txn_id text, p_device_id text, p_seq bigint, p_user_id bigint, p_session_user_id bigint,
  p_scan_kind text, p_payload_hash text, p_scanned_at text, p_received_at timestamptz,{_POST_PARAMS},
  OUT place integer, OUT status text, OUT movement_ids bigint[], OUT reservation_ids bigint[], OUT stored text,
  OUT inbox_id bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
  posted record;
BEGIN
  SELECT * INTO posted FROM stockline_post({_POST_ARGS});
  IF posted.status NOT IN ('posted', 'replayed') THEN
    RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = p_place::text,
      MESSAGE = format('scan %s of the statement was not applied together: %s', p_place, posted.status);
  END IF;
  INSERT INTO sync_inbox (txn_id, device_id, seq, user_id, session_user_id, kind, payload_hash, status, reason,
                          result, scanned_at, received_at)
  VALUES (p_txn_id, p_device_id, p_seq, p_user_id, p_session_user_id, p_scan_kind, p_payload_hash, 'applied', '',
          '{{"movement_ids": ' || CASE WHEN posted.status = 'posted'
            THEN '[' || array_to_string(posted.movement_ids, ', ') || ']'
            ELSE CAST(CAST(posted.stored AS jsonb) -> 'movement_ids' AS text) END || '}}',
          p_scanned_at, p_received_at)
  ON CONFLICT DO NOTHING
  RETURNING id INTO inbox_id;
  IF inbox_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = p_place::text,
      MESSAGE = format('scan %s of the statement was not applied together: its txn_id is taken', p_place);
  END IF;
  UPDATE sync_devices SET highest_seq = p_seq WHERE device_id = p_device_id AND highest_seq = p_seq - 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'SL409', DETAIL = p_place::text,
      MESSAGE = format('scan %s of the statement was not applied together: not its device''s next number',
                       p_place);
  END IF;
  place := p_place;
  status := posted.status;
  movement_ids := posted.movement_ids;
  reservation_ids := posted.reservation_ids;
  stored := posted.stored;
END
$fn$
"""


_LOCK_BALANCES = r"""
CREATE FUNCTION stockline_lock_balances(p_sku_key text[], p_code_key text[], p_lot text[]) RETURNS bigint
LANGUAGE sql VOLATILE AS $fn$
  SELECT count(*) FROM (
    SELECT b.id FROM balances b
    JOIN (SELECT DISTINCT i.id AS item_id, l.id AS location_id, w.lot
          FROM unnest(p_sku_key, p_code_key, p_lot) AS w(sku_key, code_key, lot)
          JOIN items i ON i.sku_key = w.sku_key JOIN locations l ON l.code_key = w.code_key) k
      ON b.item_id = k.item_id AND b.location_id = k.location_id AND b.lot = k.lot
    ORDER BY b.item_id, b.location_id, b.lot COLLATE "C"
    FOR UPDATE OF b) AS locked
$fn$
"""


def statements(dialect: str) -> list[str]:
    return [_REPLAY_MOVE.strip(), _LOCK_BALANCES.strip()] if dialect == "postgres" else []
