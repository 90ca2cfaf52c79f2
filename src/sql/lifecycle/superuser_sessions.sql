-- On the SOURCE: the client sessions of this database of superuser roles other than walferry's own (current_user)
-- and not walferry's (application_name 'walferry...'). A superuser can make the database writable again (ALTER
-- DATABASE) and its sessions cannot be ended by a role that is not a superuser. Read-only.
SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local')
FROM pg_catalog.pg_stat_activity a
JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
WHERE a.datname = current_database()
  AND a.pid <> pg_backend_pid()
  AND a.backend_type = 'client backend'
  AND r.rolsuper
  AND r.rolname <> current_user
  AND coalesce(a.application_name, '') NOT LIKE 'walferry%'
ORDER BY a.pid
