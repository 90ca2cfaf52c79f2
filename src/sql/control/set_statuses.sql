-- Every set's status row with its checkpoint (control::ReadSetStatuses), one row per set that has a status row.
-- $1: seconds within which a row must have been updated to count as fresh (a running worker rewrites it every
-- few seconds; a killed one leaves it to age).
SELECT s.task_name, s.task_status, s.status_time::text,
       extract(epoch FROM now() - s.status_time) <= $1::float8 AS fresh,
       extract(epoch FROM now() - s.status_time)::float8 AS status_age_seconds,
       COALESCE(c.applied_lsn, s.applied_lsn)::text AS applied_lsn,
       COALESCE(c.applied_commit_time, s.source_timestamp_applied)::text AS applied_commit_time,
       s.latency_seconds, s.rows_per_second, s.last_error,
       (SELECT count(*) FROM @SCHEMA@.apply_exceptions e WHERE e.task_name = s.task_name) AS exceptions
FROM @SCHEMA@.status s LEFT JOIN @SCHEMA@.checkpoint c ON c.set_name = s.task_name
ORDER BY s.task_name
