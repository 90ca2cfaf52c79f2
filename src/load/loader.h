// load/loader.h
//
// `walferry load`: for each replication set, a consistent full load with no data gap before CDC.
//   1. Preflight (changes nothing on either server): wal_level=logical and privileges, sets resolve to existing
//      tables, the sets' slots/publications are free (or belong to an interrupted load being redone), enough free
//      replication slots, the target-prep rule allows the tables already on the target, pg_dump is runnable.
//   2. Schema objects; then the tables of every set in one step, in groups created at once (load/table_groups.h),
//      after each new set's row (state loading) is written.
//   3. Per set: publication walferry_<set> (publish_via_partition_root), then the slot walferry_<set> (pgoutput)
//      created with EXPORT_SNAPSHOT on a replication connection held open until every table is copied; the set's
//      row in the control schema records the slot's consistent point as start_lsn (where CDC starts) and the
//      snapshot name. Tables are copied largest first by --table-jobs workers, all inside that snapshot, each as
//      one all-or-nothing target transaction. Owned sequences are set (setval) from the source.
//      The database's large objects are copied with their OIDs from the first set's snapshot of the run.
//   4. Post-data (indexes, constraints, triggers), dumped once before the first copy: a plain table's own indexes
//      and primary/unique/exclusion keys are built by --index-jobs threads as soon as its copy commits, while other
//      tables still copy (load/early_post_data.h); the rest (foreign keys, triggers, partitioned tables' indexes,
//      whatever was not built early) after every set's data, with pg_restore -j --index-jobs. Then the set's
//      load_state becomes "loaded".
// States in <control>.sets.load_state: loading (copying) -> indexing (data complete) -> loaded.
// Resume (--resume, and every `walferry migrate`), each set by its own state: a set no earlier run started is loaded
// from scratch; "loaded" sets are skipped; "indexing" resumes with the post-data (same start_lsn); "loading"
// continues in the exported snapshot if it still exists, else (the usual case: it dies with the process that
// created it) the set starts over: slot and publication dropped, tables emptied, a new slot and snapshot, a new
// start_lsn. Keeping tables copied from the old snapshot would lose the changes between the old and the new start.
// Ctrl-C / SIGTERM (common/cancel.h) stops the load at once: running COPYs are cancelled (each rolls back with its
// "copied" mark), pg_dump/pg_restore/psql are stopped, and RunLoad throws Error(kCancelled) naming each set's state;
// every state it leaves is one --resume continues from.
// --from-standby (LoadOptions::from_standby, load/standby.h): the same states; the data comes from a paused standby.
// Not thread-safe; runs once per process.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "config/config.h"
#include "load/large_objects.h"
#include "load/table_copy.h"

namespace walferry::load {

struct LoadOptions {
  std::string source;
  std::string target;
  std::string migration_id;  // walferry.yaml migration_id: names the slots and publications (control::SlotName)
  std::string control_schema = "walferry";
  std::vector<config::SelectionRule> rules;
  std::vector<config::SetConfig> sets;  // empty: all selected tables form the set "default"
  std::string only_set;                 // --set; empty: every set
  int table_jobs = 1;
  int index_jobs = 2;  // pg_restore -j of the last post-data step, and threads building indexes during the copies
  // Tables (heap + TOAST) larger than this are copied in ceil(size / this) parts (at most 256) by ctid block
  // range, concurrently, from the same snapshot. 0: never split.
  int64_t split_tables_larger_than = 0;
  std::string target_prep = "error";    // error | do-nothing | truncate | drop
  bool resume = false;                  // each set by its own state (see "Resume" above)
  // --cdc-start-lsn: the target was loaded by other means, consistent as of this LSN. No data is copied: the
  // publication and slot are created (no snapshot), start_lsn = this LSN is recorded and the set marked loaded.
  // Must be >= the new slot's consistent point (else the slot and publication are dropped again and the load
  // fails with kPrecondition: changes before the slot's start were not retained). The tables must exist.
  std::optional<Lsn> cdc_start_lsn;
  // --from-standby: conninfo of a physical standby of the source. The slots are created on the source without a
  // snapshot; then replay on the standby is paused once it has replayed every slot's consistent point, and every
  // set whose slot was created in this run is copied from a snapshot on the paused standby; the standby's replay
  // LSN is their start_lsn. Replay is resumed afterwards (also on failure or Ctrl-C). See load/standby.h.
  // Schema (pg_dump) still comes from the source. Not combinable with cdc_start_lsn.
  std::string from_standby;
  // How long to wait for the standby to replay up to the slots' consistent point before failing (kTimeout).
  std::chrono::seconds standby_catch_up_limit{600};
};

struct SetReport {
  std::string set_name;
  std::string slot_name;
  std::string publication_name;
  Lsn start_lsn;
  std::string snapshot_name;
  std::string outcome;                // "loaded", "loaded (started over from a new snapshot)", "already loaded"
  bool restarted = false;             // --resume found the snapshot gone and started the set over
  std::vector<TableResult> tables;    // copied in this run, in completion order
  std::vector<pg::TableName> skipped; // already copied by an earlier run
  int sequences_set = 0;
  // Copied with the first set that takes a snapshot in this run (large objects belong to no set); else zero.
  LargeObjectResult large_objects;
  double schema_seconds = 0;
  double copy_seconds = 0;
  double index_seconds = 0;
};

struct LoadReport {
  std::vector<SetReport> sets;
  double wall_seconds = 0;
};

// Throws Error(kConfig/kPrecondition) from the preflight (nothing changed), or a runtime Error later, with the
// set's state left in the control schema for --resume or a restart.
LoadReport RunLoad(const LoadOptions& options);

// The load as walferry.yaml configures it: connections, control schema, selection, sets, and the load section
// (table_jobs 0 = the number of cores, index_jobs, target_prep, split_tables_larger_than). Flags go on top.
LoadOptions ConfiguredLoad(const config::Config& config);

}  // namespace walferry::load
