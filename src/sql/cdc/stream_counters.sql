-- Streaming's counters in a set's status row (docs/cdc.md "Streaming of large transactions"), for `walferry status`
-- and /api/status: streamed transactions applied, of them applied early, early applies given up, streamed
-- transactions aborted. NULLs from a walferry older than them. $1 the set. @SCHEMA@ is replaced by the quoted
-- control schema.
SELECT (to_jsonb(s) ->> 'streamed_applied')::bigint, (to_jsonb(s) ->> 'streamed_early')::bigint,
       (to_jsonb(s) ->> 'early_stopped')::bigint, (to_jsonb(s) ->> 'streamed_aborted')::bigint
FROM @SCHEMA@.status s WHERE task_name = $1
