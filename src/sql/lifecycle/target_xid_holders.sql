-- On the TARGET, before the fallback slot is created: the sessions of the whole cluster (other than this one) that
-- hold a transaction id. CREATE_REPLICATION_SLOT waits until every such transaction has ended, however long; the
-- cutover waits for them itself, bounded by --timeout, and names them.
SELECT pid, coalesce(datname, ''), coalesce(application_name, ''), coalesce(xact_start::text, '')
FROM pg_stat_activity
WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
ORDER BY xact_start
