-- On the SOURCE: the sessions waiting for (or holding) an ACCESS EXCLUSIVE lock on relation $1 (regclass text),
-- with who they are and what they run: the rewrite walferry load's copy refuses to queue behind.
SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'),
       left(coalesce(a.query, ''), 120), l.granted
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.relation = $1::regclass AND l.mode = 'AccessExclusiveLock'
ORDER BY a.pid
