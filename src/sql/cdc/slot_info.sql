-- walferry status and the CDC slot check, source side: a set's slot. $1: slot name.
-- Columns a version lacks are read through to_jsonb, so that older servers give NULL (pg::ServerFeatures says which
-- version has which): wal_status and safe_wal_size (13+, max_slot_wal_keep_size), invalidation_reason and
-- inactive_since (17+, slot_invalidation_reason; inactive_since as seconds before now).
SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes, active,
       to_jsonb(s) ->> 'wal_status' AS wal_status, (to_jsonb(s) ->> 'safe_wal_size')::bigint AS safe_wal_bytes,
       to_jsonb(s) ->> 'invalidation_reason' AS invalidation_reason,
       EXTRACT(EPOCH FROM now() - (to_jsonb(s) ->> 'inactive_since')::timestamptz)::float8 AS inactive_seconds
FROM pg_replication_slots s WHERE slot_name = $1
