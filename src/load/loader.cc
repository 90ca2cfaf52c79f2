#include "load/loader.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "control/control_schema.h"
#include "load/copy_scheduler.h"
#include "load/preflight.h"
#include "load/schema.h"
#include "pg/replication_stream.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
auto Log() { return log::For("load"); }

std::string PgArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

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
  const std::string slot = control::SlotName(set.name);
  if (set.slot_exists) {
    pg::ReplicationConnection repl = pg::ReplicationConnection::Open(o.source);
    repl.DropSlot(slot, /*wait=*/true);
    Log()->info("set {}: dropped the slot {} of the interrupted load", set.name, slot);
  }
  source.Exec("DROP PUBLICATION IF EXISTS " + pg::QuoteIdent(control::PublicationName(set.name)));
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
              {pg::Param(set.name), pg::Param(PgArray(schemas)), pg::Param(PgArray(names))});
}

std::vector<pg::TableName> CopiedTables(pg::Connection& target, const std::string& schema, const std::string& set) {
  pg::Result r = target.Exec(ControlSql("load/progress_list", schema), {pg::Param(set)});
  std::vector<pg::TableName> out;
  for (int i = 0; i < r.rows(); ++i) {
    if (r.Get(i, 2) == "copied") out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  }
  return out;
}

void CreatePublication(pg::Connection& source, const ResolvedSet& set) {
  std::vector<pg::TableName> names;
  for (const auto& t : set.tables) names.push_back(t.name);
  const std::string pub = control::PublicationName(set.name);
  WithContext("creating publication " + pub + " on the source", [&] {
    source.Exec("CREATE PUBLICATION " + pg::QuoteIdent(pub) + " FOR TABLE " + JoinQuoted(names) +
                " WITH (publish_via_partition_root = true)");
  });
}

// Copies the set's tables not yet copied, from `snapshot`, then the owned sequences.
void CopyData(const LoadOptions& o, const ResolvedSet& set, const std::string& snapshot, SetReport& report,
              pg::Connection& target) {
  auto start = Clock::now();
  std::vector<pg::TableName> done = CopiedTables(target, o.control_schema, set.name);
  std::vector<TablePlan> plans;
  for (size_t i = 0; i < set.tables.size(); ++i) {
    if (std::find(done.begin(), done.end(), set.tables[i].name) != done.end()) {
      report.skipped.push_back(set.tables[i].name);
      continue;
    }
    plans.push_back(PlanTable(set.tables[i], set.sizes[i]));
  }
  CopyJob job;
  job.source = o.source;
  job.target = o.target;
  job.snapshot = snapshot;
  job.control_schema = o.control_schema;
  job.set_name = set.name;
  job.jobs = o.table_jobs;
  // do-nothing keeps what is in existing tables; otherwise the table is walferry's to fill, and truncating it in
  // the copy's transaction makes a redone copy start empty.
  for (const auto& p : plans) {
    bool keep = o.target_prep == "do-nothing" && set.existing.count(p.table.name) > 0;
    job.truncate_first.push_back(!keep);
  }
  job.plans = std::move(plans);
  report.tables = RunCopies(job);
  report.sequences_set = CopySequences(o.source, o.target, snapshot, set.relation_oids);
  report.copy_seconds = Since(start);
}

SetReport LoadSet(const LoadOptions& o, pg::Connection& source, pg::Connection& target, const ResolvedSet& set) {
  SetReport report;
  report.set_name = set.name;
  report.slot_name = control::SlotName(set.name);
  report.publication_name = control::PublicationName(set.name);
  control::ControlSchema control(target, o.control_schema);
  const std::string state = set.row ? set.row->load_state : "";

  if (o.resume && state == "loaded") {
    report.outcome = "already loaded";
    report.start_lsn = set.row->start_lsn;
    return report;
  }
  if (o.resume && state == "loading") {
    // Only possible while the process that exported the snapshot still holds it; ImportSnapshot explains otherwise.
    report.start_lsn = set.row->start_lsn;
    report.snapshot_name = set.row->snapshot_name;
    ImportSnapshot(source, set.row->snapshot_name);  // fails before any change when the snapshot is gone
    source.Exec("ROLLBACK");
    CopyData(o, set, set.row->snapshot_name, report, target);
    control.SetLoadState(set.name, "indexing");
  } else if (!o.resume) {
    if (set.restart) DropStaleSlot(o, source, set);
    auto schema_start = Clock::now();
    PrepareTargetTables(o, target, set);
    SchemaCopier(o.source, o.target, o.control_schema).CopyTables(ToCreate(o, set));
    report.schema_seconds = Since(schema_start);
    // The set's row first: a slot walferry created is always known to the control schema.
    control.UpsertSet({set.name, report.slot_name, report.publication_name, "", Lsn(), "loading"});
    InitProgress(target, o.control_schema, set, /*reset=*/true);
    // The publication before the slot: pgoutput looks publications up as of each decoded change.
    CreatePublication(source, set);
    pg::ReplicationConnection repl = pg::ReplicationConnection::Open(o.source);
    pg::CreatedSlot slot = repl.CreateLogicalSlot(report.slot_name, pg::SnapshotAction::kExport);
    report.start_lsn = slot.consistent_point;
    report.snapshot_name = slot.snapshot_name;
    control.UpsertSet({set.name, report.slot_name, report.publication_name, slot.snapshot_name,
                       slot.consistent_point, "loading"});
    Log()->info("set {}: slot {} created; CDC will start at {}; copying {} tables from snapshot {}", set.name,
                report.slot_name, slot.consistent_point.ToString(), set.tables.size(), slot.snapshot_name);
    CopyData(o, set, slot.snapshot_name, report, target);
    control.SetLoadState(set.name, "indexing");
    // `repl` closes here: the snapshot is no longer needed; the slot stays for CDC.
  } else {
    report.start_lsn = set.row->start_lsn;
  }
  auto index_start = Clock::now();
  std::vector<pg::TableName> post = (o.resume || set.restart) ? set.relations : ToCreate(o, set);
  SchemaCopier(o.source, o.target, o.control_schema).CopyPostData(post, o.index_jobs, o.resume || set.restart);
  report.index_seconds = Since(index_start);
  control.SetLoadState(set.name, "loaded");
  report.outcome = "loaded";
  Log()->info("set {}: loaded; CDC starts at {}", set.name, report.start_lsn.ToString());
  return report;
}

}  // namespace

LoadReport RunLoad(const LoadOptions& o) {
  auto start = Clock::now();
  pg::Connection source = pg::Connection::Open(o.source, {.role = "source"});
  pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
  std::vector<ResolvedSet> sets = Preflight(o, source, target);

  control::ControlSchema(target, o.control_schema).Ensure();
  if (!o.resume) {
    bool any_new = std::any_of(sets.begin(), sets.end(), [&](const ResolvedSet& s) { return !ToCreate(o, s).empty(); });
    if (any_new) {
      std::vector<uint32_t> owned;
      pg::Result r = source.Exec(sql::Get("load/all_owned_sequences"));
      for (int i = 0; i < r.rows(); ++i) owned.push_back(static_cast<uint32_t>(r.GetInt(i, 0)));
      SchemaCopier(o.source, o.target, o.control_schema).CopySupportObjects(owned);
    }
  }
  LoadReport report;
  for (const auto& set : sets) {
    try {
      report.sets.push_back(WithContext("loading set '" + set.name + "'", [&] { return LoadSet(o, source, target, set); }));
    } catch (const Error& e) {
      try {
        control::ControlSchema(target, o.control_schema).SetStatus(set.name, "FAILED", e.what());
      } catch (...) {
        // Reporting the original error matters more than recording it.
      }
      throw;
    }
  }
  report.wall_seconds = Since(start);
  return report;
}

}  // namespace walferry::load
