#include "load/loader.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <set>
#include <thread>

#include "common/cancel.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "control/cutover_row.h"
#include "control/publication.h"
#include "control/set_lock.h"
#include "control/truncate_capture.h"
#include "load/copy_scheduler.h"
#include "load/early_post_data.h"
#include "load/preflight.h"
#include "load/schema.h"
#include "load/snapshot_locks.h"
#include "load/standby.h"
#include "pg/replication_stream.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

using Clock = std::chrono::steady_clock;

// How long the load waits for each table's ACCESS SHARE lock (load/snapshot_locks.h).
constexpr std::chrono::seconds kLockTimeout{30};

// For the tests (docs/testing.md): env `name`=<seconds> sleeps there, so a test can act at that point.
void PauseForTests(const char* name) {
  if (const char* v = std::getenv(name)) std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(v) * 1000));
}
using control::LoadState;

// Below this size, a table this run created is filled without TRUNCATE (see AddTablePlans).
constexpr int64_t kFreezeWorthBytes = 1024 * 1024;

// What the sets of one run share.
struct RunShared {
  bool large_objects_pending = true;  // copied with the first set that takes a snapshot
  std::set<pg::TableName> created;    // tables this run created: empty, never holding a row of an earlier copy
  std::set<pg::TableName> emptied;    // kept tables emptied before any copy (--target-prep truncate)
  double schema_seconds = 0;          // of that one step, reported by each set it served
  EarlyPostData* early = nullptr;     // builds a table's own indexes and keys once its copy commits (may be null)
};

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
auto Log() { return log::For("load"); }

std::string JoinQuoted(const std::vector<pg::TableName>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n.Quoted();
  return out;
}

// The tables walferry creates in this run (the others exist and are kept by --target-prep do-nothing/truncate).
std::vector<pg::TableName> ToCreate(const LoadOptions& o, const ResolvedSet& set) {
  std::vector<pg::TableName> out;
  for (const auto& r : set.relations) {
    if (o.target_prep == "drop" || set.existing.count(r) == 0) out.push_back(r);
  }
  return out;
}

// Drops what an interrupted load of the set left on the source: its slot never fed CDC (the set is not loaded).
void DropStaleSlot(const LoadOptions& o, pg::Connection& source, const ResolvedSet& set) {
  const std::string& slot = set.slot_name;
  if (set.slot_exists) {
    pg::ReplicationConnection repl = pg::ReplicationConnection::Open(o.source);
    repl.DropSlot(slot, /*wait=*/true);
    Log()->info("set {}: dropped the slot {} of the interrupted load", set.name, slot);
  }
  source.Exec("DROP PUBLICATION IF EXISTS " + pg::QuoteIdent(set.publication_name));
}

void PrepareTargetTables(const LoadOptions& o, pg::Connection& target, const ResolvedSet& set) {
  if (o.target_prep != "drop" || set.existing.empty()) return;
  // Roots only: dropping a partitioned table drops its partitions. One statement, so foreign keys between the
  // dropped tables do not matter; a foreign key from a table outside the set makes it fail (nothing dropped).
  std::vector<pg::TableName> roots;
  for (const auto& t : set.tables) {
    if (set.existing.count(t.name)) roots.push_back(t.name);
  }
  std::vector<pg::TableName> orphans;  // existing partitions whose root is not on the target
  for (const auto& r : set.existing) {
    if (std::find(roots.begin(), roots.end(), r) == roots.end()) orphans.push_back(r);
  }
  WithContext("dropping the set's tables on the target (--target-prep drop)", [&] {
    if (!roots.empty()) target.Exec("DROP TABLE " + JoinQuoted(roots));
    for (const auto& p : orphans) target.Exec("DROP TABLE IF EXISTS " + p.Quoted());
  });
  Log()->info("set {}: dropped {} existing tables on the target (--target-prep drop)", set.name, roots.size());
}

void InitProgress(pg::Connection& target, const std::string& schema, const ResolvedSet& set, bool reset) {
  if (reset) {
    target.Exec("DELETE FROM " + pg::QuoteIdent(schema) + ".load_progress WHERE set_name = $1", {pg::Param(set.name)});
  }
  std::vector<std::string> schemas, names;
  for (const auto& t : set.tables) {
    schemas.push_back(t.name.schema);
    names.push_back(t.name.name);
  }
  target.Exec(ControlSql("load/progress_init", schema),
              {pg::Param(set.name), pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names))});
}

// Tables whose every part is copied (a split table with a part missing is not: it is redone whole).
std::vector<pg::TableName> CopiedTables(pg::Connection& target, const std::string& schema, const std::string& set) {
  pg::Result r = target.Exec(ControlSql("load/progress_list", schema), {pg::Param(set)});
  std::vector<pg::TableName> copied, incomplete;
  for (int i = 0; i < r.rows(); ++i) {
    pg::TableName name{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))};
    auto& list = r.Get(i, 2) == "copied" ? copied : incomplete;
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  }
  std::erase_if(copied, [&](const pg::TableName& n) {
    return std::find(incomplete.begin(), incomplete.end(), n) != incomplete.end();
  });
  return copied;
}

// The publication, and (before the slot exists, so that nothing after its start is missed) the triggers that
// carry a TRUNCATE of one partition (control/truncate_capture.h).
void CreatePublication(const LoadOptions& o, pg::Connection& source, const ResolvedSet& set) {
  std::vector<control::PublishedTable> names;
  for (const auto& t : set.tables) names.push_back({t.name, t.relkind == 'p'});
  const std::string& pub = set.publication_name;
  WithContext("creating publication " + pub + " on the source", [&] {
    // Through the root where the server can (13+; on 12 the preflight refused partitioned tables).
    source.Exec(control::CreatePublicationSql(pub, names, pg::FeaturesOf(source.ServerVersionNum()),
                                              set.publish_generated_columns ? control::GeneratedColumns::kStored
                                                                            : control::GeneratedColumns::kNone));
  });
  control::TruncateCaptureResult capture = control::InstallTruncateCapture(source, o.control_schema, pub);
  if (!capture.supported && std::any_of(set.tables.begin(), set.tables.end(),
                                        [](const catalog::TableInfo& t) { return t.relkind == 'p'; })) {
    Log()->warn("set {}: the source is older than PostgreSQL 14: a TRUNCATE of ONE partition of a partitioned "
                "table will not be carried by CDC (docs/cdc.md, TRUNCATE)",
                set.name);
  }
  if (!capture.installed.empty()) {
    Log()->info("set {}: created the trigger {} on {} partitions on the source (it carries a TRUNCATE of one "
                "partition)",
                set.name, control::kTruncateTrigger, capture.installed.size());
  }
}

// How many parts a table of `size_bytes` is split into (1: not split). A partitioned root is never split: a ctid
// range means nothing across partitions. A table kept as it is (do-nothing) is not split either: a redone split
// table is emptied first, and walferry empties only tables that are its own.
int PartsFor(const LoadOptions& o, const catalog::TableInfo& table, int64_t size_bytes, bool keep) {
  if (o.split_tables_larger_than <= 0 || size_bytes <= o.split_tables_larger_than) return 1;
  if (table.relkind == 'p' || keep) return 1;
  constexpr int64_t kMaxParts = 256;
  return static_cast<int>(std::min(kMaxParts, (size_bytes + o.split_tables_larger_than - 1) / o.split_tables_larger_than));
}

// The set's tables that an earlier run of its load split into parts (load/progress_split.sql).
std::vector<pg::TableName> SplitBefore(pg::Connection& target, const std::string& schema, const std::string& set) {
  pg::Result r = target.Exec(ControlSql("load/progress_split", schema), {pg::Param(set)});
  std::vector<pg::TableName> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  return out;
}

// Adds the plans of one table to `job`: one whole-table plan, or its parts after emptying it once.
// `walferrys`: the table was emptied by an earlier run (split), so even do-nothing does not keep its rows: a part
// committed then must not stay under a copy of the whole table.
void AddTablePlans(const LoadOptions& o, pg::Connection& source, pg::Connection& target, const ResolvedSet& set,
                   size_t i, bool walferrys, const RunShared& run, CopyJob& job) {
  const catalog::TableInfo& table = set.tables[i];
  const bool keep = o.target_prep == "do-nothing" && set.existing.count(table.name) > 0 && !walferrys;
  TablePlan whole = PlanTable(table, set.sizes[i]);
  const int parts = PartsFor(o, table, set.sizes[i], keep);
  if (parts < 2) {
    // do-nothing keeps what is in existing tables; otherwise the table is walferry's to fill, and truncating it in
    // the copy's transaction makes a redone copy start empty. A small plain table this run created is empty (a copy
    // rolls back whole), so it is filled without one: a TRUNCATE makes new files (about 2 ms), which thousands of
    // small tables pay thousands of times, and its only gain, COPY FREEZE, matters for big tables alone.
    // A table EmptyKeptTables emptied is not truncated again: a TRUNCATE of one table that another's foreign key
    // references is refused, even when both are empty.
    const bool fresh_and_small =
        table.relkind == 'r' && run.created.count(table.name) > 0 && set.sizes[i] < kFreezeWorthBytes;
    job.plans.push_back(std::move(whole));
    job.truncate_first.push_back(!keep && !fresh_and_small && run.emptied.count(table.name) == 0);
    return;
  }
  // The main fork's size, not MVCC: the last part is open-ended, so blocks added since are still read.
  int64_t blocks = source.Exec("SELECT pg_catalog.pg_relation_size($1::oid) / "
                               "current_setting('block_size')::bigint",
                               {pg::Param(std::to_string(table.oid))})
                       .GetInt(0, 0);
  PrepareSplitTable(target, o.control_schema, set.name, table.name, parts, /*truncate=*/true);
  Log()->info("set {}: {} ({} MB) is copied in {} parts of about {} blocks (--split-tables-larger-than)", set.name,
              table.name.Display(), set.sizes[i] / (1024 * 1024), parts, (blocks + parts - 1) / parts);
  for (TablePlan& p : SplitPlan(whole, blocks, parts)) {
    job.plans.push_back(std::move(p));
    job.truncate_first.push_back(false);
  }
}

// Copies the set's tables not yet copied, from `snapshot` on the server `copy_source` (the source, or the standby
// of --from-standby), then the owned sequences.
void CopyData(const LoadOptions& o, const ResolvedSet& set, const std::string& snapshot, const std::string& copy_source,
              SetReport& report, pg::Connection& source, pg::Connection& target, RunShared& run) {
  auto start = Clock::now();
  std::vector<pg::TableName> done = CopiedTables(target, o.control_schema, set.name);
  std::vector<pg::TableName> split_before = SplitBefore(target, o.control_schema, set.name);
  CopyJob job;
  job.source = copy_source;
  job.target = o.target;
  job.snapshot = snapshot;
  job.control_schema = o.control_schema;
  job.set_name = set.name;
  job.jobs = o.table_jobs;
  if (run.early) job.on_table_copied = [early = run.early](const pg::TableName& t) { early->TableCopied(t); };
  std::vector<pg::TableName> to_copy;
  for (size_t i = 0; i < set.tables.size(); ++i) {
    if (std::find(done.begin(), done.end(), set.tables[i].name) != done.end()) {
      report.skipped.push_back(set.tables[i].name);
      continue;
    }
    to_copy.push_back(set.tables[i].name);
    job.into_kept_tables = job.into_kept_tables ||
                           ((o.target_prep == "do-nothing" || o.target_prep == "truncate") &&
                            set.existing.count(set.tables[i].name) > 0 && run.created.count(set.tables[i].name) == 0);
    const bool walferrys =
        std::find(split_before.begin(), split_before.end(), set.tables[i].name) != split_before.end();
    AddTablePlans(o, source, target, set, i, walferrys, run, job);
  }
  {
    // On the source itself (a standby's locks would not hold back the primary's rewrites).
    std::optional<SnapshotLocks> locks;
    if (copy_source == o.source && !to_copy.empty()) locks.emplace(o.source, snapshot, to_copy, kLockTimeout);
    PauseForTests("WALFERRY_LOAD_PAUSE_BEFORE_COPY");
    report.tables = RunCopies(job);
  }
  report.sequences_set = CopySequences(copy_source, o.target, snapshot, set.relation_oids);
  if (run.large_objects_pending) {
    report.large_objects = CopyLargeObjects(copy_source, o.target, snapshot, o.control_schema);
    run.large_objects_pending = false;
  }
  report.copy_seconds = Since(start);
}

// Empties the set's tables before a resumed set starts over from a new snapshot (rows of the old snapshot must not
// stay: they would miss the changes between the old and the new start point). With --target-prep do-nothing, a
// table without a "copied" mark is kept as it is (a copy is all-or-nothing: it holds only the user's own rows).
void EmptyForRestart(const LoadOptions& o, pg::Connection& target, const ResolvedSet& set) {
  pg::Result progress = target.Exec(ControlSql("load/progress_list", o.control_schema), {pg::Param(set.name)});
  std::vector<pg::TableName> touched;  // any part copied
  for (int i = 0; i < progress.rows(); ++i) {
    if (progress.Get(i, 2) == "copied") touched.push_back({std::string(progress.Get(i, 0)), std::string(progress.Get(i, 1))});
  }
  std::string empty;
  size_t emptied = 0;
  for (const auto& t : set.tables) {
    bool was_copied = std::find(touched.begin(), touched.end(), t.name) != touched.end();
    if (!was_copied && o.target_prep == "do-nothing") continue;
    empty += (empty.empty() ? "" : ", ") + TruncateName(t);
    ++emptied;
  }
  if (empty.empty()) return;
  WithContext("emptying the set's tables before starting it over", [&] { target.Exec("TRUNCATE " + empty); });
  Log()->info("set {}: emptied {} tables ({} had been copied from the old snapshot)", set.name, emptied,
              touched.size());
}

// Creates the set's publication and slot, records the new start point and copies the data from the slot's snapshot.
// `resumed`: the tables exist (created by the interrupted run) and are emptied; else CreateTables made them.
// --from-standby: the slot is created without a snapshot and the copy is left to CopyFromStandby (returns true);
// report.start_lsn is then the slot's consistent point, which the standby must replay before it is paused.
bool LoadFromNewSlot(const LoadOptions& o, pg::Connection& source, pg::Connection& target, const ResolvedSet& set,
                     bool resumed, SetReport& report, RunShared& run) {
  control::ControlSchema control(target, o.control_schema);
  if (set.restart || resumed) DropStaleSlot(o, source, set);
  auto schema_start = Clock::now();
  if (resumed) EmptyForRestart(o, target, set);  // else CreateTables made the set's tables
  report.schema_seconds = resumed ? Since(schema_start) : run.schema_seconds;
  // The set's row first: a slot walferry created is always known to the control schema.
  control.UpsertSet({set.name, report.slot_name, report.publication_name, "", Lsn(), LoadState::kLoading});
  InitProgress(target, o.control_schema, set, /*reset=*/true);
  // The publication before the slot: pgoutput looks publications up as of each decoded change.
  CreatePublication(o, source, set);
  pg::ReplicationConnection repl = pg::ReplicationConnection::Open(o.source);
  if (!o.from_standby.empty()) {
    pg::CreatedSlot slot = repl.CreateLogicalSlot(report.slot_name, pg::SnapshotAction::kNoExport);
    report.start_lsn = slot.consistent_point;  // provisional: CDC starts at the paused standby's replay LSN
    Log()->info("set {}: slot {} created at {} (no snapshot: the copy reads from the standby)", set.name,
                report.slot_name, slot.consistent_point.ToString());
    return true;
  }
  pg::CreatedSlot slot = repl.CreateLogicalSlot(report.slot_name, pg::SnapshotAction::kExport);
  report.start_lsn = slot.consistent_point;
  report.snapshot_name = slot.snapshot_name;
  control.UpsertSet({set.name, report.slot_name, report.publication_name, slot.snapshot_name, slot.consistent_point,
                     LoadState::kLoading});
  Log()->info("set {}: slot {} created; CDC will start at {}; copying {} tables from snapshot {}", set.name,
              report.slot_name, slot.consistent_point.ToString(), set.tables.size(), slot.snapshot_name);
  CopyData(o, set, slot.snapshot_name, o.source, report, source, target, run);
  control.SetLoadState(set.name, LoadState::kIndexing);
  // `repl` closes on return: the snapshot is no longer needed; the slot stays for CDC.
  return false;
}

// Whether the exported snapshot of an interrupted load still exists (its process may still hold it).
bool SnapshotAlive(pg::Connection& source, const std::string& snapshot) {
  if (snapshot.empty()) return false;
  try {
    ImportSnapshot(source, snapshot);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kPrecondition) return false;
    throw;
  }
  source.Exec("ROLLBACK");
  return true;
}

// --resume of a set interrupted while copying: continue in the same snapshot if it still exists, else start the set
// over from a new slot and snapshot (the only correct choice: see docs/load.md, "Resume").
// Returns true when the copy is left to CopyFromStandby (see LoadFromNewSlot).
bool ResumeCopy(const LoadOptions& o, pg::Connection& source, pg::Connection& target, const ResolvedSet& set,
                SetReport& report, RunShared& run) {
  if (SnapshotAlive(source, set.row->snapshot_name)) {
    report.start_lsn = set.row->start_lsn;
    report.snapshot_name = set.row->snapshot_name;
    CopyData(o, set, set.row->snapshot_name, o.source, report, source, target, run);
    control::ControlSchema(target, o.control_schema).SetLoadState(set.name, LoadState::kIndexing);
    return false;
  }
  if (set.row->snapshot_name.empty() || !set.row->start_lsn.valid()) {
    // Stopped before its slot and snapshot existed: nothing was copied from any snapshot.
    Log()->info("set {}: the earlier run stopped before the set's slot and snapshot were created; loading the set "
                "from the start (slot {}, publication {})",
                set.name, report.slot_name, report.publication_name);
  } else {
    Log()->warn("set {}: the interrupted load's snapshot {} is gone (it lived only as long as the walferry process "
                "that created it). Tables copied from it cannot be kept: they would miss the changes between its "
                "start point {} and a new slot's. Starting the set over: dropping slot {} and publication {}, "
                "emptying the set's tables, copying everything from a new snapshot",
                set.name, set.row->snapshot_name, set.row->start_lsn.ToString(), report.slot_name,
                report.publication_name);
  }
  report.restarted = true;
  return LoadFromNewSlot(o, source, target, set, /*resumed=*/true, report, run);
}

// The consistent point of a slot no process has read yet (its confirmed position), if it exists.
std::optional<Lsn> UnreadSlotStart(pg::Connection& source, const std::string& slot) {
  pg::Result r = source.Exec(sql::Get("load/unread_slot_start"), {pg::Param(slot)});
  if (r.rows() == 0 || !r.GetOpt(0, 0)) return std::nullopt;
  return Lsn::Parse(r.Get(0, 0));
}

// --cdc-start-lsn: the user loaded the target; walferry only creates the slot and records where CDC starts
// (`start`). The row says so before anything is created (external_load), so an interrupted run is finished by
// recording it again, never by a copy. A slot and publication the interrupted run created are kept when the slot
// starts at or before `start` (the publication was created before it); otherwise both are made anew.
void RecordExternalLoad(const LoadOptions& o, pg::Connection& source, pg::Connection& target, const ResolvedSet& set,
                        Lsn start, SetReport& report) {
  control::ControlSchema control(target, o.control_schema);
  const bool interrupted = set.restart || set.row;
  if (interrupted && set.publication_exists) {
    if (std::optional<Lsn> kept = UnreadSlotStart(source, report.slot_name); kept && *kept <= start) {
      report.start_lsn = start;
      control.UpsertSet({set.name, report.slot_name, report.publication_name, "", start, LoadState::kLoaded, true});
      Log()->info("set {}: loaded by other means; kept the interrupted run's slot {} (created at {}); CDC will "
                  "start at {}",
                  set.name, report.slot_name, kept->ToString(), start.ToString());
      return;
    }
  }
  if (interrupted) DropStaleSlot(o, source, set);
  control.UpsertSet({set.name, report.slot_name, report.publication_name, "", start, LoadState::kLoading, true});
  CreatePublication(o, source, set);
  PauseForTests("WALFERRY_LOAD_PAUSE_BEFORE_SLOT");
  pg::ReplicationConnection repl = pg::ReplicationConnection::Open(o.source);
  pg::CreatedSlot slot = repl.CreateLogicalSlot(report.slot_name, pg::SnapshotAction::kNoExport);
  if (start < slot.consistent_point) {
    repl.DropSlot(report.slot_name, /*wait=*/true);
    source.Exec("DROP PUBLICATION IF EXISTS " + pg::QuoteIdent(report.publication_name));
    control.DeleteSet(set.name);
    throw Error(ErrorKind::kPrecondition, "--cdc-start-lsn " + start.ToString() + " is before the new slot's start " +
                                              slot.consistent_point.ToString())
        .WithDetail("a logical slot streams only changes after its consistent point; the source did not retain "
                    "the changes committed between " + start.ToString() + " and " +
                    slot.consistent_point.ToString() + " for walferry, so CDC from " + start.ToString() +
                    " would silently miss them. The slot and publication were dropped again")
        .WithHint("reload the target so that it is consistent as of a later LSN (e.g. from a snapshot taken after "
                  "creating a slot), or let walferry load copy the data itself");
  }
  report.start_lsn = start;
  control.UpsertSet({set.name, report.slot_name, report.publication_name, "", start, LoadState::kLoaded, true});
  Log()->info("set {}: loaded by other means; slot {} created at {}; CDC will start at {} (--cdc-start-lsn: "
              "transactions committed before it are taken to be in the target already)",
              set.name, report.slot_name, slot.consistent_point.ToString(), start.ToString());
}

// The sets this run loads from scratch (LoadSet's new-slot path): not resumed, not --cdc-start-lsn.
bool LoadedFromScratch(const LoadOptions& o, const ResolvedSet& set) { return !o.cdc_start_lsn && !set.resume; }

// --target-prep truncate: the tables the sets loaded from scratch keep are emptied in ONE statement before any
// copy, so that foreign keys among them, across sets too, do not stop it (the preflight refused foreign keys from
// other tables; one made since then stops the load here, before any slot).
void EmptyKeptTables(const LoadOptions& o, pg::Connection& target, const std::vector<ResolvedSet>& sets,
                     RunShared& run) {
  if (o.target_prep != "truncate") return;
  std::string list;
  for (const auto& set : sets) {
    if (!LoadedFromScratch(o, set)) continue;
    for (const auto& t : set.tables) {
      if (set.existing.count(t.name) == 0 || !run.emptied.insert(t.name).second) continue;
      list += (list.empty() ? "" : ", ") + TruncateName(t);
    }
  }
  if (list.empty()) return;
  try {
    target.Exec("TRUNCATE " + list);
  } catch (const Error& e) {
    if (e.sqlstate() != "0A000") throw;
    throw Error(ErrorKind::kPrecondition, "--target-prep truncate: the target's tables cannot be emptied: " +
                                              std::string(e.what()))
        .WithDetail("a table outside the sets being loaded has a foreign key to one of their tables on the target "
                    "(made after the preflight checked)")
        .WithHint("add that table to a set, drop its foreign key on the target during the load, or use "
                  "--target-prep drop");
  }
  Log()->info("emptied {} tables kept on the target (--target-prep truncate), in one statement", run.emptied.size());
}

// Whether the set is resumed from "loading" by a copy (not a load by other means), which starts it over when its
// snapshot is gone: its tables must exist, and any an interrupted CreateTables left out are created.
bool ResumedCopy(const ResolvedSet& set) {
  return set.resume && set.row && set.row->load_state == LoadState::kLoading && !set.row->external_load;
}

// One schema step for every set of the run: the tables of the sets loaded from scratch, and those missing of a
// resumed set that copies again, created before the first slot in groups at once (SchemaCopier::CopyTables; a step
// per set cost a pg_dump and a psql each). The new sets' rows come first, in state "loading" without a snapshot, so
// that an interruption anywhere from here (some groups created, others not) is finished by --resume: the set starts
// over, its missing tables are created and the others emptied.
void CreateTables(const LoadOptions& o, pg::Connection& target, const std::vector<ResolvedSet>& sets, RunShared& run) {
  EmptyKeptTables(o, target, sets, run);
  control::ControlSchema control(target, o.control_schema);
  std::vector<pg::TableName> tables;
  int count = 0;
  for (const auto& set : sets) {
    std::vector<pg::TableName> missing;
    if (LoadedFromScratch(o, set)) {
      control.UpsertSet({set.name, set.slot_name, set.publication_name, "", Lsn(),
                         LoadState::kLoading});
      PrepareTargetTables(o, target, set);
      missing = ToCreate(o, set);
    } else if (ResumedCopy(set)) {
      for (const auto& r : set.relations) {
        if (set.existing.count(r) == 0) missing.push_back(r);
      }
    }
    count += missing.empty() ? 0 : 1;
    for (const pg::TableName& t : missing) {
      if (run.created.insert(t).second) tables.push_back(t);
    }
  }
  if (tables.empty()) return;
  auto start = Clock::now();
  size_t groups = SchemaCopier(o.source, o.target, o.control_schema).CopyTables(tables, o.table_jobs);
  run.schema_seconds = Since(start);
  Log()->info("created {} tables of {} sets on the target in {} groups at once in {:.2f} s", tables.size(), count,
              groups, run.schema_seconds);
}

// What is left of a set once its data is copied: its tables' indexes, constraints and triggers.
struct PostData {
  bool pending = false;            // the set's data was copied in this run: create its post-data, mark it loaded
  bool copy_from_standby = false;  // --from-standby: slot created, data still to be copied (CopyFromStandby)
};

// Whether this run creates the set's post-data (its data is copied in this run, or was before and the post-data is
// unfinished), and for which tables: LoadSet below takes the same branches.
std::optional<std::vector<pg::TableName>> PostDataTables(const LoadOptions& o, const ResolvedSet& set) {
  const LoadState state = set.row ? set.row->load_state : LoadState::kPending;
  if (set.resume && state == LoadState::kLoaded) return std::nullopt;
  if (o.cdc_start_lsn || (set.resume && state == LoadState::kLoading && set.row->external_load)) return std::nullopt;
  return (set.resume || set.restart) ? set.relations : ToCreate(o, set);
}

// Loads one set's data; its post-data is returned in *post, to be created once every set's data is there.
SetReport LoadSet(const LoadOptions& o, pg::Connection& source, pg::Connection& target, const ResolvedSet& set,
                  RunShared& run, PostData* post) {
  SetReport report;
  report.set_name = set.name;
  report.slot_name = set.slot_name;
  report.publication_name = set.publication_name;
  // No row: never loaded (set.resume is false then, also under --resume).
  const LoadState state = set.row ? set.row->load_state : LoadState::kPending;

  if (set.resume && state == LoadState::kLoaded) {
    report.outcome = "already loaded";
    report.start_lsn = set.row->start_lsn;
    return report;
  }
  if (o.cdc_start_lsn || (set.resume && state == LoadState::kLoading && set.row->external_load)) {
    RecordExternalLoad(o, source, target, set, o.cdc_start_lsn ? *o.cdc_start_lsn : set.row->start_lsn, report);
    report.outcome = "loaded by other means (--cdc-start-lsn)";
    return report;
  }
  if (set.resume && state == LoadState::kLoading) {
    post->copy_from_standby = ResumeCopy(o, source, target, set, report, run);
  } else if (LoadedFromScratch(o, set)) {
    post->copy_from_standby = LoadFromNewSlot(o, source, target, set, /*resumed=*/false, report, run);
  } else {
    report.start_lsn = set.row->start_lsn;  // kIndexing: the data is complete; the post-data is redone
    Log()->info("set {}: data complete (CDC starts at {}); resuming the indexes and constraints", set.name,
                report.start_lsn.ToString());
  }
  // Indexes, constraints and triggers come after every set's data (RunLoad): a foreign key may point into
  // another set, whose tables and keys must exist first.
  post->pending = true;  // its tables: PostDataTables
  report.outcome = report.restarted ? "loaded (started over from a new snapshot)" : "loaded";
  return report;
}

// --from-standby: the sets whose slots were created in this run are copied from the standby, paused at or after
// every one of their consistent points; its replay LSN becomes their start_lsn (load/standby.h says why that is
// exact). One pause for all sets. Replay is resumed when the copies end, also when one fails.
void CopyFromStandby(const LoadOptions& o, pg::Connection& source, pg::Connection& target,
                     const std::vector<ResolvedSet>& sets, LoadReport& report, std::vector<PostData>& posts,
                     RunShared& run) {
  std::vector<size_t> todo;
  Lsn at_least;
  for (size_t i = 0; i < posts.size(); ++i) {
    if (!posts[i].copy_from_standby) continue;
    todo.push_back(i);
    at_least = std::max(at_least, report.sets[i].start_lsn);
  }
  if (todo.empty()) return;
  PausedStandby standby(o.from_standby, at_least, o.standby_catch_up_limit);
  control::ControlSchema control(target, o.control_schema);
  for (size_t i : todo) {
    SetReport& r = report.sets[i];
    WithContext("copying set '" + r.set_name + "' from the standby", [&] {
      r.start_lsn = standby.replay_lsn();
      r.snapshot_name = standby.snapshot();
      // Not recorded as the set's snapshot: it lives on the standby, where --resume does not look for it.
      control.UpsertSet({r.set_name, r.slot_name, r.publication_name, "", r.start_lsn, LoadState::kLoading});
      Log()->info("set {}: CDC will start at {} (the standby's paused replay position; slot created at {}); "
                  "copying {} tables from snapshot {} on the standby",
                  r.set_name, r.start_lsn.ToString(), at_least.ToString(), sets[i].tables.size(), r.snapshot_name);
      CopyData(o, sets[i], standby.snapshot(), o.from_standby, r, source, target, run);
      control.SetLoadState(r.set_name, LoadState::kIndexing);
      r.outcome += " (copied from the standby)";
    });
    posts[i].copy_from_standby = false;
  }
  standby.Resume();
}

// The tables of every set whose data this run copies or whose post-data is unfinished, and whether objects an
// interrupted run created may be on the target already.
std::pair<std::vector<pg::TableName>, bool> PostDataTables(const LoadOptions& o, const std::vector<ResolvedSet>& sets) {
  std::vector<pg::TableName> tables;
  bool tolerate_existing = false;
  for (const auto& set : sets) {
    std::optional<std::vector<pg::TableName>> t = PostDataTables(o, set);
    if (!t) continue;
    tables.insert(tables.end(), t->begin(), t->end());
    tolerate_existing = tolerate_existing || set.resume || set.restart;
  }
  return {std::move(tables), tolerate_existing};
}

// Post-data of every set at once, so pg_restore orders keys before the foreign keys that need them, across sets:
// every entry of `plan` not built while copying.
void CopyAllPostData(const LoadOptions& o, pg::Connection& target, const std::vector<PostData>& posts,
                     const SchemaCopier& copier, const PostDataPlan& plan, EarlyPostData& early,
                     LoadReport& report) {
  auto index_start = Clock::now();
  early.Stop();
  std::vector<TocEntry> rest = early.RemainingEntries();
  if (early.built_tables() > 0) {
    Log()->info("built the indexes and keys of {} tables while copying ({} of {} post-data entries); {} left",
                early.built_tables(), plan.entries.size() - rest.size(), plan.entries.size(), rest.size());
  }
  copier.RestorePostData(plan, rest, o.index_jobs, "rest");
  double seconds = Since(index_start);
  control::ControlSchema control(target, o.control_schema);
  for (size_t i = 0; i < report.sets.size(); ++i) {
    if (!posts[i].pending) continue;
    SetReport& set = report.sets[i];
    set.index_seconds = seconds;
    control.SetLoadState(set.set_name, LoadState::kLoaded);
    Log()->info("set {}: loaded; CDC starts at {}", set.set_name, set.start_lsn.ToString());
  }
}

// Ctrl-C / SIGTERM stopped the load (`e`): says where each set stands and how to continue. Every state the load
// leaves is one it resumes from (a copy is one target transaction: a cancelled one left nothing marked copied).
Error Interrupted(const Error& e, pg::Connection& target, const LoadOptions& o, const std::vector<ResolvedSet>& sets) {
  Error out = e;
  std::string states;
  try {
    control::ControlSchema control(target, o.control_schema);
    const bool exists = control.Exists();
    for (const auto& set : sets) {
      std::optional<control::ControlSchema::SetRow> row = exists ? control.GetSet(set.name) : std::nullopt;
      states += "\n    set '" + set.name + "': " +
                (row ? "load state '" + std::string(control::ToString(row->load_state)) + "'" : "not started");
    }
  } catch (const Error&) {
    states = " (unknown: the target's control schema could not be read)";
  }
  return out
      .WithDetail("a copy cut off rolls back with its \"copied\" mark, so no table is half copied; the sets stay "
                  "as they are:" + states)
      .WithHint("continue with walferry migrate, or walferry load --resume: a set left in 'loading' is copied again "
                "from a new snapshot (its snapshot ended with this process), one in 'indexing' keeps its data and "
                "start point");
}

// RunLoad once the preflight passed and the sets' locks are held.
LoadReport LoadResolved(const LoadOptions& o, pg::Connection& source, pg::Connection& target,
                        const std::vector<ResolvedSet>& sets, Clock::time_point start) {
  if (!o.from_standby.empty()) CheckStandby(o.from_standby, source);

  control::ControlSchema(target, o.control_schema).Ensure();
  if (!o.cdc_start_lsn) {
    bool any_new = std::any_of(sets.begin(), sets.end(),
                               [&](const ResolvedSet& s) { return !s.resume && !ToCreate(o, s).empty(); });
    if (any_new) {
      std::vector<uint32_t> owned;
      pg::Result r = source.Exec(sql::Get("load/all_owned_sequences"));
      for (int i = 0; i < r.rows(); ++i) owned.push_back(static_cast<uint32_t>(r.GetInt(i, 0)));
      SchemaCopier(o.source, o.target, o.control_schema).CopySupportObjects(owned);
    }
  }
  LoadReport report;
  auto record_failure = [&](const std::string& set_name, const Error& e) {
    if (e.kind() == ErrorKind::kCancelled) return;  // not a failure: the set's load state says where it stopped
    try {
      control::ControlSchema(target, o.control_schema).SetStatus(set_name, control::TaskState::kFailed, e.what());
    } catch (...) {
      // Reporting the original error matters more than recording it.
    }
  };
  RunShared run;
  // The post-data is dumped from the source while the tables are created (it reads the source only), so that each
  // table's own indexes can be built as soon as its copy commits (load/early_post_data.h).
  SchemaCopier copier(o.source, o.target, o.control_schema);
  const std::pair<std::vector<pg::TableName>, bool> post_data = PostDataTables(o, sets);
  const std::vector<pg::TableName>& post_tables = post_data.first;
  std::future<PostDataPlan> dumped = std::async(std::launch::async, [&] { return copier.DumpPostData(post_tables); });
  try {
    CreateTables(o, target, sets, run);
  } catch (const Error& e) {
    for (const auto& set : sets) {
      if (LoadedFromScratch(o, set) || ResumedCopy(set)) record_failure(set.name, e);
    }
    throw;  // `dumped` waits for its pg_dump (stopped by Ctrl-C too)
  }
  PostDataPlan plan;
  try {
    WithContext("preparing the indexes, constraints and triggers", [&] {
      plan = dumped.get();
      if (post_data.second) copier.LeaveOutWhatTargetHas(post_tables, plan);  // objects of an interrupted run
    });
  } catch (const Error& e) {
    for (const auto& set : sets) {
      if (PostDataTables(o, set)) record_failure(set.name, e);
    }
    throw;
  }
  // Declared after `plan` and `copier`, which it uses: destroyed (its threads joined) before them.
  EarlyPostData early(copier, plan, o.index_jobs);
  run.early = &early;
  std::vector<PostData> posts;  // one per entry of report.sets
  for (const auto& set : sets) {
    ThrowIfCancelled("loading the sets");
    try {
      PostData post;
      report.sets.push_back(WithContext("loading set '" + set.name + "'", [&] {
        return LoadSet(o, source, target, set, run, &post);
      }));
      posts.push_back(std::move(post));
    } catch (const Error& e) {
      record_failure(set.name, e);
      throw;
    }
  }
  try {
    CopyFromStandby(o, source, target, sets, report, posts, run);
  } catch (const Error& e) {
    for (size_t i = 0; i < report.sets.size(); ++i) {
      if (posts[i].copy_from_standby) record_failure(report.sets[i].set_name, e);
    }
    throw;
  }
  ThrowIfCancelled("loading the sets");
  try {
    WithContext("creating indexes, constraints and triggers of every set",
                [&] { CopyAllPostData(o, target, posts, copier, plan, early, report); });
  } catch (const Error& e) {
    for (size_t i = 0; i < report.sets.size(); ++i) {
      if (posts[i].pending) record_failure(report.sets[i].set_name, e);
    }
    throw;
  }
  report.wall_seconds = Since(start);
  return report;
}

}  // namespace

LoadReport RunLoad(const LoadOptions& o) {
  auto start = Clock::now();
  pg::Connection source = pg::Connection::Open(o.source, {.role = "source"});
  pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
  // One load per set at a time (control/set_lock.h), taken before the preflight looks at the target's tables.
  std::vector<std::string> names;
  for (const auto& s : o.sets) {
    if (o.only_set.empty() || s.name == o.only_set) names.push_back(s.name);
  }
  if (o.sets.empty()) names.push_back("default");
  control::SetLocks locks(o.target, names, "load");
  // A cutover's row belongs to the sets it switched: archived (aborted, switched back) or the load refused
  // (control/cutover_row.h).
  control::PrepareReload(target, source, o.control_schema, "walferry load");
  std::vector<ResolvedSet> sets = Preflight(o, source, target);
  try {
    return LoadResolved(o, source, target, sets, start);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kCancelled) throw;
    throw Interrupted(e, target, o, sets);
  }
}

LoadOptions ConfiguredLoad(const config::Config& config) {
  LoadOptions o;
  o.source = config.source;
  o.target = config.target;
  o.migration_id = config.migration_id;
  o.control_schema = config.control_schema;
  o.rules = config.rules;
  o.sets = config.sets;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.table_jobs = config.load.table_jobs > 0 ? config.load.table_jobs : cores;
  o.index_jobs = config.load.index_jobs;
  o.target_prep = config.load.target_prep;
  o.split_tables_larger_than = config.load.split_tables_larger_than_bytes;
  return o;
}

}  // namespace walferry::load
