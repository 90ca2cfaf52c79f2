// validate/followup.cc: what happens after the comparison of a set (see validator.h steps 4-6).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/log.h"
#include "control/retention.h"
#include "sql/sql.h"
#include "validate/multiset.h"
#include "validate/range_checksum.h"
#include "validate/repair.h"
#include "validate/set_run.h"
#include "validate/snapshot.h"

namespace walferry::validate::internal {

namespace {

constexpr size_t kDescribeLimit = 100;  // differences per table whose rows are fetched to say what differs
constexpr size_t kShown = 80;           // characters of a value shown in details

std::string Short(const std::optional<std::string>& v) {
  if (!v) return "NULL";
  if (v->size() <= kShown) return "'" + *v + "'";
  return "'" + v->substr(0, kShown) + "...' (" + std::to_string(v->size()) + " chars)";
}

MismatchKind KindOf(const std::optional<std::string>& source, const std::optional<std::string>& target) {
  if (!target) return MismatchKind::kMissingTarget;
  if (!source) return MismatchKind::kExtraTarget;
  return MismatchKind::kRecordDiff;
}

// One re-check round of a keyed table's pending keys, at the snapshot open on `snap_source`.
void RecheckKeys(SetRun& run, TableWork& work, std::vector<Mismatch>& pending, std::vector<Mismatch>& confirmed,
                 const std::vector<std::optional<std::string>>& at_snapshot) {
  RangeChecksum rc(*work.sql);
  std::vector<Mismatch> still;
  for (size_t i = 0; i < pending.size(); ++i) {
    std::optional<std::string> target = rc.RowHash(run.workers[0].target, pending[i].key);
    std::optional<std::string> now = rc.RowHash(run.source_now, pending[i].key);
    // The target was read at a checkpoint between the snapshot and `now`. Holding a value the source row had at
    // either end of that window, it is consistent: the difference was a change in flight.
    if (target == at_snapshot[i] || target == now) continue;
    // Otherwise it is a difference only if the source row stayed the same over the window; if not, try again.
    if (now != at_snapshot[i]) {
      still.push_back(std::move(pending[i]));
      continue;
    }
    pending[i].kind = KindOf(at_snapshot[i], target);
    confirmed.push_back(std::move(pending[i]));
  }
  pending = std::move(still);
}

// Multiset tables: one more full comparison at the re-check snapshot; differences must appear in both.
void RecheckMultiset(SetRun& run, TableWork& work) {
  MultisetResult again =
      CompareMultiset(*work.sql, run.workers[0].source, run.workers[0].target, run.options.max_differences);
  std::map<std::pair<MismatchKind, std::string>, int64_t> now;
  for (const auto& m : again.mismatches) now[{m.kind, m.row_hash}] = m.copies;
  // A truncated re-check listed the differences only up to its last hash (they come in hash order): a row past it
  // was not looked at again, so it stays a difference rather than being taken for a change in flight.
  const std::string* checked_up_to = again.truncated ? &again.mismatches.back().row_hash : nullptr;
  std::vector<Mismatch> kept;
  for (auto& m : work.result.mismatches) {
    auto it = now.find({m.kind, m.row_hash});
    if (it == now.end()) {
      if (checked_up_to != nullptr && m.row_hash > *checked_up_to) kept.push_back(std::move(m));
      continue;
    }
    m.copies = std::min(m.copies, it->second);
    kept.push_back(std::move(m));
  }
  work.result.mismatches = std::move(kept);
}

std::string DescribeKeyed(SetRun& run, TableWork& work, const Mismatch& m) {
  auto fetch = [&](pg::Connection& conn) -> std::optional<std::vector<std::optional<std::string>>> {
    std::vector<pg::Param> params;
    std::string q = work.sql->RowByKey(m.key, params);
    pg::Result r = conn.Exec(q, params);
    if (r.rows() == 0) return std::nullopt;
    std::vector<std::optional<std::string>> cols;
    for (int c = 0; c < r.cols(); ++c) cols.push_back(r.GetOpt(0, c));
    return cols;
  };
  auto src = fetch(run.source_now);
  auto tgt = fetch(run.workers[0].target);
  if (src && !tgt) return "source row: " + Short((*src)[0]);
  if (tgt && !src) return "target row: " + Short((*tgt)[0]);
  if (!src) return "the source and the target no longer have this row";
  std::string out;
  const auto& cols = work.sql->InsertableColumns();
  for (size_t i = 0; i < cols.size(); ++i) {
    if ((*src)[i + 1] == (*tgt)[i + 1]) continue;
    out += (out.empty() ? "" : "; ") + pg::QuoteIdent(cols[i]->name) + ": source " + Short((*src)[i + 1]) +
           ", target " + Short((*tgt)[i + 1]);
  }
  return out.empty() ? "rows are equal now (changed since the comparison)" : out;
}

std::string DescribeRow(SetRun& run, TableWork& work, const Mismatch& m) {
  pg::Connection& conn = m.kind == MismatchKind::kMissingTarget ? run.source_now : run.workers[0].target;
  std::vector<pg::Param> params;
  std::string q = work.sql->RowByHash(m.row_hash, params);
  pg::Result r = conn.Exec(q, params);
  std::string copies = std::to_string(m.copies) + (m.copies == 1 ? " copy" : " copies");
  if (r.rows() == 0) return copies + "; the row is gone now";
  return copies + " of " + Short(r.GetOpt(0, 0));
}

// For the tests (docs/testing.md): with env WALFERRY_VALIDATE_RECHECK_GATE=<path>, the re-check writes <path>.ready
// and waits (at most a minute) until <path> exists, so a test can change the target between the comparison and it.
void RecheckGateForTests() {
  const char* path = std::getenv("WALFERRY_VALIDATE_RECHECK_GATE");
  if (path == nullptr) return;
  std::ofstream(std::string(path) + ".ready") << "comparison done\n";
  for (int i = 0; i < 600 && !std::filesystem::exists(path); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

void Recheck(SetRun& run, SetResult& result) {
  std::vector<std::vector<Mismatch>> pending(run.tables.size()), confirmed(run.tables.size());
  bool any = false;
  for (size_t t = 0; t < run.tables.size(); ++t) {
    if (run.tables[t].sql && run.tables[t].sql->keyed()) pending[t] = std::move(run.tables[t].result.mismatches);
    any = any || !pending[t].empty() || !run.tables[t].result.mismatches.empty();
  }
  if (any) RecheckGateForTests();
  for (int round = 0; any && round < std::max(1, run.options.rechecks); ++round) {
    pg::Connection& src = run.workers[0].source;
    SourceSnapshot snap = BeginExportedSnapshot(src);
    std::vector<std::vector<std::optional<std::string>>> at_snapshot(run.tables.size());
    for (size_t t = 0; t < run.tables.size(); ++t) {
      if (pending[t].empty()) continue;
      RangeChecksum rc(*run.tables[t].sql);
      for (const auto& m : pending[t]) at_snapshot[t].push_back(rc.RowHash(src, m.key));
    }
    WaitForCheckpoint(*run.control, run.options.source, run.set_name, snap.lsn, run.options.wait);
    result.recheck_lsn = snap.lsn;
    any = false;
    for (size_t t = 0; t < run.tables.size(); ++t) {
      TableWork& work = run.tables[t];
      if (!pending[t].empty()) RecheckKeys(run, work, pending[t], confirmed[t], at_snapshot[t]);
      if (round == 0 && work.sql && !work.sql->keyed() && !work.result.mismatches.empty()) RecheckMultiset(run, work);
      any = any || !pending[t].empty();
    }
    EndSnapshot(src);
    log::For("validate")->info("set {}: re-checked differing rows at source position {}", run.set_name,
                               snap.lsn.ToString());
  }
  for (size_t t = 0; t < run.tables.size(); ++t) {
    if (!run.tables[t].sql || !run.tables[t].sql->keyed()) continue;
    for (auto& m : pending[t]) m.details = "the row changed on the source during every re-check; ";
    auto& out = run.tables[t].result.mismatches;
    out = std::move(confirmed[t]);
    out.insert(out.end(), std::make_move_iterator(pending[t].begin()), std::make_move_iterator(pending[t].end()));
  }
  for (const TableWork& work : run.tables) {
    if (!work.sql) continue;
    log::For("validate")->info("{}: {} difference(s) after the re-check", work.result.table.Display(),
                               work.result.mismatches.size());
  }
}

void Describe(SetRun& run) {
  for (TableWork& work : run.tables) {
    size_t n = std::min(work.result.mismatches.size(), kDescribeLimit);
    for (size_t i = 0; i < n; ++i) {
      Mismatch& m = work.result.mismatches[i];
      m.details += work.sql->keyed() ? DescribeKeyed(run, work, m) : DescribeRow(run, work, m);
    }
  }
}

namespace {

// retention.validation_failures: the set's expired differences go before this run's are stored.
void Expire(SetRun& run) {
  std::chrono::seconds age = run.options.failures_retention;
  int64_t n = control::ExpireAllRows(run.control_conn, run.options.control_schema,
                                     control::Retained::kValidationFailures, run.set_name, age);
  if (n > 0) {
    log::For("validate")->info("set {}: removed {} validation failures older than {} (retention.validation_failures)",
                               run.set_name, n, config::FormatDuration(static_cast<int>(age.count())));
  }
}

}  // namespace

std::string StoreFailureSql(const control::ControlSchema& control) {
  std::string insert(sql::Get("validate/store_failure"));
  const std::string marker = "@SCHEMA@.validation_failures";
  insert.replace(insert.find(marker), marker.size(), control.Table("validation_failures"));
  return insert;
}

void Store(SetRun& run) {
  Expire(run);
  std::string insert = StoreFailureSql(*run.control);
  WithContext("storing differences in " + run.control->Table("validation_failures"), [&] {
    pg::Connection& c = run.control_conn;
    c.Exec("BEGIN");
    for (const TableWork& work : run.tables) {
      const TableResult& r = work.result;
      if (!r.problem.empty()) {
        c.Exec(insert, {run.set_name, r.table.schema, r.table.name, std::nullopt, "TABLE_DIFF", r.problem});
      }
      for (const Mismatch& m : r.mismatches) {
        c.Exec(insert, {run.set_name, r.table.schema, r.table.name, r.KeyText(m), MismatchKindName(m.kind),
                        m.details});
      }
    }
    c.Exec("COMMIT");
  });
}

void Repair(SetRun& run) {
  for (TableWork& work : run.tables) {
    TableResult& r = work.result;
    if (!work.sql || r.mismatches.empty()) continue;
    r.repaired = RepairTable(*work.sql, run.source_now, run.workers[0].target, r.mismatches);
    r.repair_ran = true;
    // Check the repaired rows again, against the source as it is now.
    if (work.sql->keyed()) {
      RangeChecksum rc(*work.sql);
      for (const Mismatch& m : r.mismatches) {
        auto s = rc.RowHash(run.source_now, m.key);
        auto t = rc.RowHash(run.workers[0].target, m.key);
        if (s != t) r.remaining.push_back({.kind = KindOf(s, t), .key = m.key, .details = "still differs after repair"});
      }
    } else {
      r.remaining = CompareMultiset(*work.sql, run.source_now, run.workers[0].target).mismatches;
    }
  }
}

}  // namespace walferry::validate::internal
