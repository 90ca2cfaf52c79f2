-- Ends the walsender that holds a set's slot when its client has not answered for $2 seconds: a half-open
-- connection (the client is gone, the server does not know yet) that would keep the slot busy until
-- wal_sender_timeout. A live walferry answers every second, so a live reader is never ended. $1: slot name.
-- Returns the pid ended, no row when there was none to end.
SELECT r.pid, pg_terminate_backend(r.pid)
FROM pg_replication_slots s
JOIN pg_stat_replication r ON r.pid = s.active_pid
WHERE s.slot_name = $1 AND s.active
  AND coalesce(r.reply_time, r.backend_start) < now() - make_interval(secs => $2::int)
