-- walferry status and the CDC slot check, source side: a set's slot. $1: slot name.
-- wal_status and safe_wal_size (PostgreSQL 13+) are read through to_jsonb so that older servers give NULL.
SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes, active,
       to_jsonb(s) ->> 'wal_status' AS wal_status, (to_jsonb(s) ->> 'safe_wal_size')::bigint AS safe_wal_bytes
FROM pg_replication_slots s WHERE slot_name = $1
