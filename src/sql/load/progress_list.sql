-- The load progress of one set. @SCHEMA@: control schema. $1 set.
SELECT table_schema, table_name, state, rows_copied, bytes_copied, coalesce(copy_seconds, 0) AS copy_seconds,
       coalesce(index_seconds, 0) AS index_seconds
  FROM @SCHEMA@.load_progress
 WHERE set_name = $1
 ORDER BY table_schema, table_name, part
