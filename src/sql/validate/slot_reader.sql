-- On the SOURCE: the process reading a set's slot, if any (walferry cdc, migrate, or a cutover catching up).
-- $1: slot name. No row: the slot is not read (or does not exist).
SELECT s.active_pid, a.application_name, coalesce(a.client_addr::text, 'local'), a.backend_start::text
FROM pg_catalog.pg_replication_slots s
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid
WHERE s.slot_name = $1 AND s.active
