-- The CDC checkpoint upsert, run in the same target transaction that applied the source transaction.
-- $1 set name, $2 applied LSN, $3 the source commit time (or NULL).
INSERT INTO @SCHEMA@.checkpoint (set_name, applied_lsn, applied_commit_time)
VALUES ($1, $2::pg_lsn, $3::timestamptz)
ON CONFLICT (set_name) DO UPDATE SET
  applied_lsn = EXCLUDED.applied_lsn, applied_commit_time = EXCLUDED.applied_commit_time, updated_at = now()
