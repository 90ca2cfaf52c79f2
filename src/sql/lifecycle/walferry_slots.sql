-- On the SOURCE: walferry's logical replication slots of this database (named walferry_<set>), with who reads
-- them. Read-only.
SELECT s.slot_name::text,
       s.active,
       s.active_pid,
       a.application_name,
       a.client_addr::text
FROM pg_replication_slots s
LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
WHERE s.database = current_database()
  AND s.slot_type = 'logical'
  AND s.slot_name LIKE 'walferry\_%'
ORDER BY 1
