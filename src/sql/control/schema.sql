-- walferry's control schema on the TARGET. The schema name is substituted by walferry (quoted) for @SCHEMA@;
-- everything else is fixed. Idempotent: safe to run at every start.
CREATE SCHEMA IF NOT EXISTS @SCHEMA@;

-- One row per replication set: its slot and publication on the source, where CDC starts, and the load state.
CREATE TABLE IF NOT EXISTS @SCHEMA@.sets (
  set_name text PRIMARY KEY,
  slot_name text NOT NULL,
  publication_name text NOT NULL,
  snapshot_name text,                -- exported snapshot the load copied from (valid only while the load runs)
  start_lsn pg_lsn,                  -- CDC starts here: the slot's consistent point (or --cdc-start-lsn)
  load_state text NOT NULL DEFAULT 'pending',  -- pending | loading | loaded | failed
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- true: loaded by other means (walferry load --cdc-start-lsn); walferry never copied into or emptied its tables, and
-- an interrupted run is finished by recording it again, never by a copy.
ALTER TABLE @SCHEMA@.sets ADD COLUMN IF NOT EXISTS external_load boolean NOT NULL DEFAULT false;

-- Per table (or per part of a split table) load progress; a part is all-or-nothing.
CREATE TABLE IF NOT EXISTS @SCHEMA@.load_progress (
  set_name text NOT NULL,
  table_schema text NOT NULL,
  table_name text NOT NULL,
  part int NOT NULL DEFAULT 0,
  parts int NOT NULL DEFAULT 1,
  state text NOT NULL DEFAULT 'pending',       -- pending | copying | copied | failed
  rows_copied bigint NOT NULL DEFAULT 0,
  bytes_copied bigint NOT NULL DEFAULT 0,
  copy_seconds double precision,
  index_seconds double precision,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (set_name, table_schema, table_name, part)
);

-- Exactly-once CDC: the commit LSN of the last source transaction applied, written in the SAME target transaction
-- that applied it. The slot's confirmed flush position never passes it.
CREATE TABLE IF NOT EXISTS @SCHEMA@.checkpoint (
  set_name text PRIMARY KEY,
  applied_lsn pg_lsn NOT NULL,
  applied_commit_time timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The highest position walferry told a set's slot it may forget (its confirmed_flush_lsn), written BEFORE the slot
-- is told (src/sql/cdc/slot_confirmed_record.sql): with the checkpoint it bounds where walferry can have left the
-- slot, so a slot found past both was moved by something else and CDC refuses to skip the gap
-- (docs/design/resume.md, "The slot's position"). A row outlives its set (restart, cleanup of the set): a slot
-- created later for the same set name starts after it on the same source, so the old value only counts as known.
CREATE TABLE IF NOT EXISTS @SCHEMA@.slot_confirmed (
  set_name text PRIMARY KEY,
  confirmed_lsn pg_lsn NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The status table, one row per set, named as in the DMS playbook; a stale status_time means "not running".
CREATE TABLE IF NOT EXISTS @SCHEMA@.status (
  task_name text PRIMARY KEY,
  task_status text NOT NULL,  -- FULL LOAD | CHANGE PROCESSING | CAUGHT UP | PAUSED | FAILED | STOPPED
  status_time timestamptz NOT NULL DEFAULT now(),
  pending_changes bigint,
  source_current_position pg_lsn,
  source_current_timestamp timestamptz,
  source_tail_position pg_lsn,
  source_timestamp_applied timestamptz,
  applied_lsn pg_lsn,
  latency_seconds double precision,
  pending_bytes bigint,
  rows_per_second double precision,
  last_error text
);
-- Counters of the walferry process that writes the row, from its start (a restart begins again at 0, as a
-- Prometheus counter may): changes (rows) applied, source transactions applied, target transactions (groups) that
-- committed them, and retries after a failure. Read by walferry serve (docs/serve.md).
ALTER TABLE @SCHEMA@.status ADD COLUMN IF NOT EXISTS changes_applied bigint,
  ADD COLUMN IF NOT EXISTS transactions_applied bigint, ADD COLUMN IF NOT EXISTS groups_applied bigint,
  ADD COLUMN IF NOT EXISTS retries bigint;
-- Batch apply's counters (docs/cdc.md "Batch apply"), of the same process: batches applied set-based, row changes
-- that net changes saved (netted changes minus net rows applied), batches rolled back and replayed per change, and
-- why the last one was (table, LSN range, reason).
ALTER TABLE @SCHEMA@.status ADD COLUMN IF NOT EXISTS batches bigint, ADD COLUMN IF NOT EXISTS rows_collapsed bigint,
  ADD COLUMN IF NOT EXISTS batch_replays bigint, ADD COLUMN IF NOT EXISTS last_batch_replay text;
-- Two apply connections (docs/cdc.md "Two apply connections"), of the same process: batches committed after the next
-- one was already being applied on the other connection, and waits of a batch for the one before it (a row, a
-- table or a lock both needed).
ALTER TABLE @SCHEMA@.status ADD COLUMN IF NOT EXISTS batches_pipelined bigint,
  ADD COLUMN IF NOT EXISTS pipeline_waits bigint;
-- Streaming of large transactions' counters (docs/cdc.md "Streaming of large transactions"), of the same process:
-- streamed transactions committed on the target, those of them applied while they ran on the source (the early
-- apply), early applies that gave up (then applied from the spill file at the commit), and streamed transactions
-- the source aborted.
ALTER TABLE @SCHEMA@.status ADD COLUMN IF NOT EXISTS streamed_applied bigint,
  ADD COLUMN IF NOT EXISTS streamed_early bigint, ADD COLUMN IF NOT EXISTS early_stopped bigint,
  ADD COLUMN IF NOT EXISTS streamed_aborted bigint;

CREATE TABLE IF NOT EXISTS @SCHEMA@.apply_exceptions (
  id bigserial PRIMARY KEY,
  task_name text NOT NULL,
  table_owner text NOT NULL,
  table_name text NOT NULL,
  error_time timestamptz NOT NULL DEFAULT now(),
  statement text NOT NULL,
  error text NOT NULL
);

CREATE TABLE IF NOT EXISTS @SCHEMA@.validation_failures (
  id bigserial PRIMARY KEY,
  task_name text NOT NULL,
  table_owner text NOT NULL,
  table_name text NOT NULL,
  failure_time timestamptz NOT NULL DEFAULT now(),
  key text,
  failure_type text NOT NULL,  -- MISSING_TARGET | EXTRA_TARGET | RECORD_DIFF | TABLE_DIFF
  details text
);

-- cdc.error_policy suspend-table: the tables of a set whose changes are no longer applied (each later change is
-- recorded in apply_exceptions instead). Created by walferry cdc; a row is removed by the operator after the table
-- was reloaded (docs/cdc.md "Error policies").
CREATE TABLE IF NOT EXISTS @SCHEMA@.suspended_tables (
  task_name text NOT NULL,
  table_owner text NOT NULL,
  table_name text NOT NULL,
  since_lsn pg_lsn NOT NULL,
  suspended_at timestamptz NOT NULL DEFAULT now(),
  error text NOT NULL,
  statement text NOT NULL,
  PRIMARY KEY (task_name, table_owner, table_name)
);

-- walferry cutover: one row, the switch's progress, so that a rerun continues where an interrupted one stopped
-- (lifecycle/cutover.h). step: stopping_writes -> writes_stopped -> caught_up -> sequences -> large_objects ->
-- validated -> target_ready -> done, or aborted (cutover --abort). final_lsn: the source's WAL position once
-- writes were stopped; every set is applied up to it.
CREATE TABLE IF NOT EXISTS @SCHEMA@.cutover (
  id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  step text NOT NULL,
  source_database text NOT NULL,
  final_lsn pg_lsn,
  started_at timestamptz NOT NULL DEFAULT now(),
  writes_stopped_at timestamptz,
  ready_at timestamptz,
  finished_at timestamptz,
  details jsonb NOT NULL DEFAULT '{}'
);

-- The cutover row belongs to the set generation it switched (control/cutover_row.h): sets_generation is that
-- generation (every set's name, CDC start and creation time when writes were stopped), options the flags the first
-- run was given ("fallback keep_slots ..."), which a rerun continues with. reset, restart and load move the row
-- into cutover_history (whole, as json, so columns added later travel too) before they load anything.
ALTER TABLE @SCHEMA@.cutover ADD COLUMN IF NOT EXISTS sets_generation text;
ALTER TABLE @SCHEMA@.cutover ADD COLUMN IF NOT EXISTS options text NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS @SCHEMA@.cutover_history (
  id bigserial PRIMARY KEY,
  archived_at timestamptz NOT NULL DEFAULT now(),
  archived_by text NOT NULL,  -- the command that archived it: walferry reset, walferry restart --set x, ...
  row jsonb NOT NULL          -- the cutover row as it was
);

-- Every slot and publication this control schema's migration ever named on its source (recorded with the set's
-- row, before the load creates them; kept after the set is gone): walferry cleanup --orphans drops only these, so
-- never another migration's of the same source cluster (lifecycle/cleanup.h). Filled from the sets of a control
-- schema made before it.
CREATE TABLE IF NOT EXISTS @SCHEMA@.source_objects (
  kind text NOT NULL,  -- slot | publication
  name text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, name)
);
INSERT INTO @SCHEMA@.source_objects (kind, name)
SELECT k.kind, k.name FROM @SCHEMA@.sets s,
LATERAL (VALUES ('slot', s.slot_name), ('publication', s.publication_name)) AS k(kind, name)
ON CONFLICT DO NOTHING;

-- Retention (config retention.*, control/retention.h) deletes a set's oldest rows of these two tables; these
-- indexes keep each deletion to the rows it removes. Created here for control schemas made before them too.
CREATE INDEX IF NOT EXISTS apply_exceptions_task_time ON @SCHEMA@.apply_exceptions (task_name, error_time);
CREATE INDEX IF NOT EXISTS validation_failures_task_time ON @SCHEMA@.validation_failures (task_name, failure_time);
