-- Retention (config retention.apply_exceptions): deletes at most $3 of set $1's apply exceptions recorded more than
-- $2 seconds ago; returns how many. Template: @SCHEMA@ (quoted).
WITH gone AS (
  DELETE FROM @SCHEMA@.apply_exceptions
   WHERE id IN (SELECT id FROM @SCHEMA@.apply_exceptions
                 WHERE task_name = $1 AND error_time < now() - $2::bigint * interval '1 second'
                 LIMIT $3)
  RETURNING 1
)
SELECT count(*) FROM gone
