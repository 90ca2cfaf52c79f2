-- cdc.error_policy suspend-table: the tables of a set whose changes are no longer applied (each later change is
-- recorded in apply_exceptions instead). Created by walferry cdc; a row is removed by the operator after the table
-- was reloaded (docs/cdc.md "Error policies").
CREATE TABLE IF NOT EXISTS @SCHEMA@.suspended_tables (
  task_name text NOT NULL,
  table_owner text NOT NULL,
  table_name text NOT NULL,
  since_lsn pg_lsn NOT NULL,
  suspended_at timestamptz NOT NULL DEFAULT now(),
  error text NOT NULL,
  statement text NOT NULL,
  PRIMARY KEY (task_name, table_owner, table_name)
)
