-- walferry status, source side: a set's slot. $1: slot name.
SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes, active
FROM pg_replication_slots WHERE slot_name = $1
