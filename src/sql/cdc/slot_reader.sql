-- On the SOURCE: who reads slot $1 right now: the walsender's pid, its application_name, client address, when it
-- connected, and the last time its client answered (reply_time; NULL before the first answer). No row when the slot
-- is not being read. For cdc/slot_reader.h, which tells a live reader (its answers keep coming) from a dead one.
SELECT s.active_pid,
       coalesce(a.application_name, ''),
       coalesce(a.client_addr::text, 'local'),
       coalesce(a.backend_start::text, ''),
       r.reply_time::text
FROM pg_replication_slots s
LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
WHERE s.slot_name = $1 AND s.active AND s.active_pid IS NOT NULL
