-- Keeps a set's row of the control status table current ($1 set, $2 task_status, positions, times, rates, error;
-- $12-$15 the process's counters: changes, transactions and groups applied, retries; $16-$19 batch apply's:
-- batches, rows collapsed, batch replays and the last replay's reason; $20-$23 streaming's: streamed transactions
-- applied, of them applied early, early applies given up, streamed transactions aborted; $24-$25 two apply
-- connections': batches pipelined, waits for the batch before).
-- @SCHEMA@ is replaced by the quoted control schema.
INSERT INTO @SCHEMA@.status (task_name, task_status, status_time, source_current_position, source_current_timestamp,
                             source_tail_position, source_timestamp_applied, applied_lsn, latency_seconds,
                             pending_bytes, rows_per_second, last_error, changes_applied, transactions_applied,
                             groups_applied, retries, batches, rows_collapsed, batch_replays, last_batch_replay,
                             streamed_applied, streamed_early, early_stopped, streamed_aborted, batches_pipelined,
                             pipeline_waits)
VALUES ($1, $2, now(), $3::pg_lsn, $4::timestamptz, $5::pg_lsn, $6::timestamptz, $7::pg_lsn, $8::float8, $9::bigint,
        $10::float8, $11, $12::bigint, $13::bigint, $14::bigint, $15::bigint,
        $16::bigint, $17::bigint, $18::bigint, $19, $20::bigint, $21::bigint, $22::bigint, $23::bigint, $24::bigint,
        $25::bigint)
ON CONFLICT (task_name) DO UPDATE SET
  task_status = EXCLUDED.task_status, status_time = EXCLUDED.status_time,
  source_current_position = EXCLUDED.source_current_position,
  source_current_timestamp = EXCLUDED.source_current_timestamp,
  source_tail_position = EXCLUDED.source_tail_position,
  source_timestamp_applied = EXCLUDED.source_timestamp_applied, applied_lsn = EXCLUDED.applied_lsn,
  latency_seconds = EXCLUDED.latency_seconds, pending_bytes = EXCLUDED.pending_bytes,
  rows_per_second = EXCLUDED.rows_per_second, last_error = EXCLUDED.last_error,
  changes_applied = EXCLUDED.changes_applied, transactions_applied = EXCLUDED.transactions_applied,
  groups_applied = EXCLUDED.groups_applied, retries = EXCLUDED.retries, batches = EXCLUDED.batches,
  rows_collapsed = EXCLUDED.rows_collapsed, batch_replays = EXCLUDED.batch_replays,
  last_batch_replay = EXCLUDED.last_batch_replay, streamed_applied = EXCLUDED.streamed_applied,
  streamed_early = EXCLUDED.streamed_early, early_stopped = EXCLUDED.early_stopped,
  streamed_aborted = EXCLUDED.streamed_aborted, batches_pipelined = EXCLUDED.batches_pipelined,
  pipeline_waits = EXCLUDED.pipeline_waits
