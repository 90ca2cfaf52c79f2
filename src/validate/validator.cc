#include "validate/validator.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "control/retention.h"
#include "control/set_lock.h"
#include "sql/sql.h"
#include "validate/database_objects.h"
#include "validate/multiset.h"
#include "validate/range_checksum.h"
#include "validate/repair.h"
#include "validate/set_run.h"
#include "validate/snapshot.h"
#include "validate/whole_table_groups.h"

namespace walferry::validate {

using internal::SetRun;
using internal::TableWork;
using internal::Worker;

std::vector<SetTables> ResolveSets(const config::Config& config, const std::vector<catalog::TableInfo>& source_tables,
                                   const std::string& set_filter, const std::vector<pg::TableName>& table_filter) {
  std::vector<SetTables> sets;
  if (config.sets.empty()) {
    sets.push_back({"default", catalog::SelectTables(source_tables, config.rules)});
  }
  for (const auto& s : config.sets) {
    SetTables st{s.name, {}};
    for (const auto& t : s.tables) {
      const catalog::TableInfo* info = catalog::Find(source_tables, t.name);
      if (info == nullptr) {
        throw Error(ErrorKind::kConfig, "set " + s.name + ": table " + t.name.Display() + " does not exist on the source")
            .WithHint("fix walferry.yaml (walferry plan writes it from the source's catalog)");
      }
      st.tables.push_back(*info);
    }
    sets.push_back(std::move(st));
  }
  if (!set_filter.empty()) {
    std::erase_if(sets, [&](const SetTables& s) { return s.set_name != set_filter; });
    if (sets.empty()) throw Error(ErrorKind::kConfig, "no set named '" + set_filter + "' in the configuration");
  }
  if (!table_filter.empty()) {
    for (const auto& want : table_filter) {
      bool found = false;
      for (const auto& s : sets) found = found || catalog::Find(s.tables, want) != nullptr;
      if (!found) throw Error(ErrorKind::kConfig, "--table " + want.Display() + " is not among the selected tables");
    }
    for (auto& s : sets) {
      std::erase_if(s.tables, [&](const catalog::TableInfo& t) {
        return std::find(table_filter.begin(), table_filter.end(), t.name) == table_filter.end();
      });
    }
    std::erase_if(sets, [](const SetTables& s) { return s.tables.empty(); });
  }
  return sets;
}

namespace {

struct DatabaseText {
  std::string collation;  // provider (c: libc, i: ICU), collate, ctype, ICU locale
  std::string version;    // the collation library's version recorded for the database ("" before PostgreSQL 15)
  std::string encoding;
};

DatabaseText TextSettings(pg::Connection& conn) {
  pg::Result r = conn.Exec(sql::Get("validate/database_text"));
  return {std::string(r.Get(0, 0)), std::string(r.Get(0, 1)), std::string(r.Get(0, 2))};
}

// A table the target cannot be compared on (absent, or lacking a column) is a difference of its own.
std::string TargetProblem(const catalog::TableInfo& source, const std::vector<catalog::TableInfo>& target_tables) {
  const catalog::TableInfo* t = catalog::Find(target_tables, source.name);
  if (t == nullptr) return "table does not exist on the target";
  for (const auto& c : source.columns) {
    if (t->FindColumn(c.name) == nullptr) return "column " + pg::QuoteIdent(c.name) + " does not exist on the target";
  }
  return "";
}

// Runs body(worker, i) for i in [0, count) on all workers, each taking the next i; the first error stops the others
// and is rethrown. Returns whether it stopped early (body returned false, or an error).
template <typename Body>
bool OnWorkers(SetRun& run, size_t count, Body body) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mu;
  auto loop = [&](Worker& w) {
    try {
      for (size_t i; !stop && (i = next++) < count;) {
        if (!body(w, i)) stop = true;
      }
    } catch (...) {
      std::lock_guard lock(error_mu);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < run.workers.size() && w < count; ++w) threads.emplace_back(loop, std::ref(run.workers[w]));
  loop(run.workers[0]);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return stop && next < count;
}

// Compares the ranges of one keyed table: on `one` alone, or spread over all workers when `one` is null.
void CompareKeyed(SetRun& run, TableWork& work, Worker* one) {
  RangeChecksum rc(*work.sql);
  Worker& planner = one != nullptr ? *one : run.workers[0];
  std::vector<KeyRange> ranges = rc.PlanRanges(planner.source, run.options.range_rows, run.options.range_bytes);
  std::vector<std::vector<Mismatch>> found(ranges.size());
  std::atomic<int64_t> source_rows{0}, target_rows{0}, differences{0};
  auto compare = [&](Worker& w, size_t i) {
    RangeCounts c = rc.Compare(w.source, w.target, ranges[i], found[i]);
    source_rows += c.source_rows;
    target_rows += c.target_rows;
    return (differences += static_cast<int64_t>(found[i].size())) <= run.options.max_differences;
  };
  bool stopped = false;
  if (one != nullptr) {
    for (size_t i = 0; i < ranges.size() && !stopped; ++i) stopped = !compare(*one, i) && i + 1 < ranges.size();
  } else {
    stopped = OnWorkers(run, ranges.size(), compare);
  }
  TableResult& r = work.result;
  r.source_rows = source_rows;
  r.target_rows = target_rows;
  for (auto& f : found) {
    for (auto& m : f) {
      if (static_cast<int64_t>(r.mismatches.size()) >= run.options.max_differences) {
        r.truncated = true;
        break;
      }
      r.mismatches.push_back(std::move(m));
    }
  }
  r.truncated = r.truncated || stopped;
}

// One table, on worker `one` alone or (keyed tables, `one` null) on all workers.
// The result's log line (and, with re-checks, what it means) once a table has been compared.
void Finish(const SetRun& run, const TableResult& r) {
  if (run.recheck && !r.mismatches.empty()) {
    // Rows CDC had not applied yet look different here; only what the re-check confirms counts.
    log::For("validate")->info("{}: {} source rows, {} target rows, {} row(s) to re-check (changes in flight) in "
                               "{:.1f} s", r.table.Display(), r.source_rows, r.target_rows, r.mismatches.size(),
                               r.seconds);
    return;
  }
  log::For("validate")->info("{}: {} source rows, {} target rows, {} difference(s) in {:.1f} s", r.table.Display(),
                             r.source_rows, r.target_rows, r.mismatches.size(), r.seconds);
}

void CompareTable(SetRun& run, TableWork& work, Worker* one) {
  auto start = std::chrono::steady_clock::now();
  TableResult& r = work.result;
  WithContext("comparing " + r.table.Display(), [&] {
    if (work.sql->keyed()) {
      CompareKeyed(run, work, one);
    } else {
      Worker& w = one != nullptr ? *one : run.workers[0];
      MultisetResult m = CompareMultiset(*work.sql, w.source, w.target, run.options.max_differences);
      r.source_rows = m.counts.source_rows;
      r.target_rows = m.counts.target_rows;
      r.mismatches = std::move(m.mismatches);
      r.truncated = m.truncated;
    }
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Finish(run, r);
}

// Keyed tables planned as one range, grouped for RangeChecksum::CompareWholeTables (validate/whole_table_groups.h).
std::vector<std::vector<TableWork*>> GroupsOfWork(const SetRun& run, const std::vector<TableWork*>& tables) {
  std::vector<const catalog::TableInfo*> infos;
  for (const TableWork* work : tables) infos.push_back(&work->sql->table());
  std::vector<std::vector<TableWork*>> groups;
  for (const auto& group : WholeTableGroups(infos, run.options.range_rows, run.options.range_bytes)) {
    groups.emplace_back();
    for (size_t i : group) groups.back().push_back(tables[i]);
  }
  return groups;
}

// One group on one worker: one statement per server for all of them; a table that differs is compared again on
// its own, which finds its rows. A group of one (a keyless table, too) is compared on its own.
void CompareGroup(SetRun& run, const std::vector<TableWork*>& group, Worker& w) {
  if (group.size() == 1) return CompareTable(run, *group[0], &w);
  auto start = std::chrono::steady_clock::now();
  std::vector<const TableSql*> sqls;
  for (const TableWork* work : group) sqls.push_back(work->sql.get());
  const std::string what = fmt::format("comparing {} small tables together ({} to {})", group.size(),
                                       group.front()->result.table.Display(), group.back()->result.table.Display());
  std::vector<RangeChecksum::WholeTable> sums =
      WithContext(what, [&] { return RangeChecksum::CompareWholeTables(w.source, w.target, sqls); });
  const double each = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                      static_cast<double>(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    if (!sums[i].equal) {
      CompareTable(run, *group[i], &w);
      continue;
    }
    TableResult& r = group[i]->result;
    r.source_rows = sums[i].counts.source_rows;
    r.target_rows = sums[i].counts.target_rows;
    r.seconds = each;
    Finish(run, r);
  }
}

// Tables that are one unit of work (keyless ones, and keyed ones planned as a single range) go first, one table (or
// one group of small keyed tables) per worker at a time, so a set of many small tables keeps every worker busy;
// then each other table in turn, its ranges spread over all workers.
void CompareTables(SetRun& run) {
  std::vector<TableWork*> keyless, small, ranged;
  for (TableWork& work : run.tables) {
    if (!work.sql) continue;
    if (!work.sql->keyed()) {
      keyless.push_back(&work);
    } else if (RangeChecksum::OneRange(work.sql->table(), run.options.range_rows, run.options.range_bytes)) {
      small.push_back(&work);
    } else {
      ranged.push_back(&work);
    }
  }
  std::vector<std::vector<TableWork*>> units = GroupsOfWork(run, small);
  for (TableWork* work : keyless) units.push_back({work});
  OnWorkers(run, units.size(), [&](Worker& w, size_t i) {
    CompareGroup(run, units[i], w);
    return true;
  });
  for (TableWork* work : ranged) CompareTable(run, *work, nullptr);
}

void OpenWorkers(SetRun& run, SetResult& result) {
  int jobs = std::max(1, run.options.jobs);
  for (int i = 0; i < jobs; ++i) {
    Worker w{pg::Connection::Open(run.options.source, {.role = "source", .application_name = "walferry validate"}),
             pg::Connection::Open(run.options.target, {.role = "target", .application_name = "walferry validate"})};
    PrepareSession(w.source);
    PrepareSession(w.target);
    run.workers.push_back(std::move(w));
  }
  SourceSnapshot snap = BeginExportedSnapshot(run.workers[0].source);
  for (size_t i = 1; i < run.workers.size(); ++i) ImportSnapshot(run.workers[i].source, snap.name);
  result.snapshot_lsn = snap.lsn;
}

void PrepareTables(SetRun& run, const SetTables& set, SetResult& result) {
  pg::Connection& source = run.workers[0].source;
  pg::Connection& target = run.workers[0].target;
  // The target's tables only say whether each compared table is there with its columns: no sizes needed.
  std::vector<catalog::TableInfo> target_tables =
      catalog::ListTables(target, run.options.control_schema, catalog::Sizes::kSkipped);
  DatabaseText source_text = TextSettings(source), target_text = TextSettings(target);
  // Different encodings: each row's text is hashed as UTF8 (equal characters, equal bytes), and text keys are
  // ordered by COLLATE "C" (byte order, which for LATIN1 and UTF8 is code point order on both).
  bool hash_as_utf8 = source_text.encoding != target_text.encoding;
  // Another provider, locale or library version may sort text differently (a glibc 2.28 upgrade did, silently).
  bool c_collation = source_text.collation != target_text.collation || source_text.version != target_text.version ||
                     hash_as_utf8;
  if (c_collation) {
    std::string note = fmt::format(
        "source and target databases differ in default collation, collation library version or encoding (source "
        "{} version '{}' {}, target {} version '{}' {}): text keys are compared with COLLATE \"C\", which cannot "
        "use their indexes (slower); the same text may sort differently on the two servers, so check indexes and "
        "ORDER BY results on the target",
        source_text.collation, source_text.version, source_text.encoding, target_text.collation,
        target_text.version, target_text.encoding);
    log::For("validate")->warn("{}", note);
    result.notes.push_back(std::move(note));
  }
  // hashtextextended reads words in the server's byte order: a big-endian and a little-endian server hash the same
  // text differently. Both hash a probe; when they differ, checksums use md5.
  const std::string probe = "SELECT pg_catalog.hashtextextended('walferry validate probe', 0)::text";
  const bool fast_checksum = std::string(source.Exec(probe).Get(0, 0)) == std::string(target.Exec(probe).Get(0, 0));
  if (!fast_checksum) {
    log::For("validate")->info("the servers' hashtextextended differ (byte order): range checksums use md5");
  }
  if (hash_as_utf8) {
    log::For("validate")->info("the source database is {}, the target {}: rows are hashed as UTF8 on both",
                               source_text.encoding, target_text.encoding);
  }
  for (const auto& info : set.tables) {
    TableWork work;
    work.result.table = info.name;
    work.result.key_columns = info.KeyColumns();
    work.result.problem = TargetProblem(info, target_tables);
    if (work.result.problem.empty()) work.sql = std::make_unique<TableSql>(info, c_collation, hash_as_utf8, fast_checksum);
    run.tables.push_back(std::move(work));
  }
}

SetResult RunSet(const Options& options, const SetTables& set) {
  SetResult result;
  result.set_name = set.set_name;
  SetRun run{.options = options, .set_name = set.set_name};
  run.control_conn = pg::Connection::Open(options.target, {.role = "target", .application_name = "walferry validate"});
  run.control.emplace(run.control_conn, options.control_schema);
  run.control->Ensure();
  run.source_now = pg::Connection::Open(options.source, {.role = "source", .application_name = "walferry validate"});
  PrepareSession(run.source_now);
  // --repair never races the set's CDC, nor a load or another repair of the set (validate/repair.h).
  std::optional<control::SetLocks> repair_lock;
  if (options.repair) {
    repair_lock.emplace(options.target, std::vector<std::string>{set.set_name}, "validate --repair");
    RefuseWhileCdcReads(run.source_now, set.set_name, run.control->RecordedSlot(set.set_name).value_or(""));
  }
  OpenWorkers(run, result);
  PrepareTables(run, set, result);
  if (!options.source_frozen) {
    result.applied_lsn =
        WaitForCheckpoint(*run.control, options.source, set.set_name, result.snapshot_lsn, options.wait);
  }
  log::For("validate")->info("set {}: comparing the source as of {} with the target{}", set.set_name,
                             result.snapshot_lsn.ToString(),
                             options.source_frozen ? " (writes stopped, CDC caught up: the target as it is now)"
                             : result.applied_lsn  ? " (CDC applied through " + result.applied_lsn->ToString() + ")"
                                                   : " (no CDC checkpoint: the target as it is now)");
  run.recheck = result.applied_lsn.has_value();
  CompareTables(run);
  for (Worker& w : run.workers) EndSnapshot(w.source);
  if (result.applied_lsn) internal::Recheck(run, result);
  internal::Describe(run);
  internal::Store(run);
  if (options.repair) {
    // CDC may have started during the comparison
    RefuseWhileCdcReads(run.source_now, set.set_name, run.control->RecordedSlot(set.set_name).value_or(""));
    internal::Repair(run);
  }
  for (TableWork& work : run.tables) result.tables.push_back(std::move(work.result));
  return result;
}

}  // namespace

namespace {

// Sequences of the compared tables' schemas and (options.large_objects) the large objects, stored in
// validation_failures under the set name "(database)" when they count.
ObjectsResult RunObjects(const Options& options, const std::vector<SetTables>& sets) {
  std::set<std::string> schemas;
  for (const auto& set : sets) {
    for (const auto& t : set.tables) schemas.insert(t.name.schema);
  }
  pg::Connection source = pg::Connection::Open(options.source, {.role = "source", .application_name = "walferry validate"});
  pg::Connection target = pg::Connection::Open(options.target, {.role = "target", .application_name = "walferry validate"});
  ObjectsResult r = CompareDatabaseObjects(
      source, target, {schemas.begin(), schemas.end()}, options.large_objects, options.control_schema,
      options.sequences_on_both_sides_only ? SequenceScope::kOnBothSides : SequenceScope::kSource);
  r.final = options.source_frozen;
  // The "(database)" rows age like a set's (retention.validation_failures).
  control::ExpireAllRows(target, options.control_schema, control::Retained::kValidationFailures, "(database)",
                         options.failures_retention);
  if (r.final && !r.differences.empty()) {
    std::string insert = internal::StoreFailureSql(control::ControlSchema(target, options.control_schema));
    pg::InTransaction(target, [&] {
      for (const auto& d : r.differences) {
        target.Exec(insert, {"(database)", d.stored_as.schema, d.stored_as.name, d.key, d.kind, d.details});
      }
    });
  }
  log::For("validate")->info("{} sequence(s){}: {} {}", r.sequences,
                             r.large_objects_compared ? " and " + std::to_string(r.large_objects) + " large object(s)"
                                                      : "",
                             r.differences.size(),
                             r.final ? "difference(s)" : "expected difference(s) (walferry cutover sets them)");
  return r;
}

}  // namespace

Report Run(const Options& options, const std::vector<SetTables>& sets) {
  auto start = std::chrono::steady_clock::now();
  Report report;
  for (const SetTables& set : sets) {
    report.sets.push_back(WithContext("validating set " + set.set_name, [&] { return RunSet(options, set); }));
  }
  report.objects = WithContext("comparing sequences and large objects", [&] { return RunObjects(options, sets); });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace walferry::validate
