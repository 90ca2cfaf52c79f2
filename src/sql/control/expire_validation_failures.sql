-- Retention (config retention.validation_failures): deletes at most $3 of set $1's validation failures recorded
-- more than $2 seconds ago; returns how many. Template: @SCHEMA@ (quoted).
WITH gone AS (
  DELETE FROM @SCHEMA@.validation_failures
   WHERE id IN (SELECT id FROM @SCHEMA@.validation_failures
                 WHERE task_name = $1 AND failure_time < now() - $2::bigint * interval '1 second'
                 LIMIT $3)
  RETURNING 1
)
SELECT count(*) FROM gone
