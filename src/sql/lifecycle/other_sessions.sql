-- On the SOURCE: the other client sessions of this database that started before $1 (when writes were stopped:
-- they keep default_transaction_read_only = off), with what they run. walferry's own sessions (application_name
-- 'walferry...': a cdc of another configuration, status --watch) are not the application's: never listed. Read-only.
SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), coalesce(client_addr::text, 'local'),
       backend_xid IS NOT NULL AS writing, left(coalesce(query, ''), 80)
FROM pg_stat_activity
WHERE datname = current_database()
  AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
  AND backend_start < $1::timestamptz
  AND coalesce(application_name, '') NOT LIKE 'walferry%'
ORDER BY pid
