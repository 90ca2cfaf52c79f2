-- Sets the status row of set $1 outside CDC (e.g. a failed load): $2 task status (FULL LOAD | CHANGE PROCESSING |
-- CAUGHT UP | PAUSED | FAILED | STOPPED), $3 last error (or NULL).
INSERT INTO @SCHEMA@.status (task_name, task_status, status_time, last_error)
VALUES ($1, $2, now(), $3)
ON CONFLICT (task_name) DO UPDATE SET
  task_status = EXCLUDED.task_status, status_time = now(), last_error = EXCLUDED.last_error
