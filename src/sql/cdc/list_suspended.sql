-- The suspended tables of set $1, with when and why (NULL result when the table does not exist yet is avoided by
-- the caller, which creates it or checks to_regclass first).
SELECT table_owner, table_name, since_lsn::text, suspended_at::text, error
FROM @SCHEMA@.suspended_tables WHERE task_name = $1 ORDER BY table_owner, table_name
