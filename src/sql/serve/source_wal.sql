-- walferry serve, source side: the source's current WAL position (on a standby: what it has replayed), and
-- max_slot_wal_keep_size in bytes (-1: unlimited; NULL before PostgreSQL 13).
SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text,
       pg_size_bytes(current_setting('max_slot_wal_keep_size', true))
