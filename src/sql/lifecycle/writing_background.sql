-- On the SOURCE: the backends of this database that are not client sessions (background workers, e.g. a
-- scheduler's jobs) and hold a transaction id, i.e. are writing now. They started before the freeze and keep their
-- default_transaction_read_only; waiting for client sessions does not cover them. Read-only.
SELECT pid, coalesce(backend_type, ''), coalesce(application_name, ''), backend_xid::text
FROM pg_catalog.pg_stat_activity
WHERE datname = current_database()
  AND pid <> pg_backend_pid()
  AND backend_type NOT IN ('client backend', 'walsender')
  AND backend_xid IS NOT NULL
ORDER BY pid
