-- The tables of a set that an earlier run split into parts (walferry emptied them then, so their rows are
-- walferry's, never the user's). @SCHEMA@: control schema. $1 set.
SELECT DISTINCT table_schema, table_name
  FROM @SCHEMA@.load_progress
 WHERE set_name = $1 AND parts > 1
