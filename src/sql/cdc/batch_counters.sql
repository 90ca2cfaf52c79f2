-- Batch apply's counters in a set's status row (docs/cdc.md "Batch apply"), for `walferry status` and /api/status:
-- batches, rows collapsed, batch replays, the last replay's reason, batches pipelined and waits for the batch before
-- (two apply connections). NULLs from a walferry older than them.
-- $1 the set. @SCHEMA@ is replaced by the quoted control schema.
SELECT (to_jsonb(s) ->> 'batches')::bigint, (to_jsonb(s) ->> 'rows_collapsed')::bigint,
       (to_jsonb(s) ->> 'batch_replays')::bigint, to_jsonb(s) ->> 'last_batch_replay',
       (to_jsonb(s) ->> 'batches_pipelined')::bigint, (to_jsonb(s) ->> 'pipeline_waits')::bigint
FROM @SCHEMA@.status s WHERE task_name = $1
