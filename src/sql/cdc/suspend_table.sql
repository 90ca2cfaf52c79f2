-- Suspends a table of a set: $1 set, $2 schema, $3 table, $4 commit LSN of the transaction whose change failed,
-- $5 the error, $6 the failed statement with its values.
INSERT INTO @SCHEMA@.suspended_tables (task_name, table_owner, table_name, since_lsn, error, statement)
VALUES ($1, $2, $3, $4::pg_lsn, $5, $6)
ON CONFLICT (task_name, table_owner, table_name) DO NOTHING
