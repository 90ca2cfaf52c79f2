#include "load/copy_scheduler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "catalog/sequence_values.h"
#include "common/cancel.h"
#include "common/log.h"
#include "load/progress.h"
#include "pg/cancel_watch.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

auto Log() { return log::For("load"); }

struct SourceSettings {
  std::string encoding;
  std::string lc_monetary;
};

SourceSettings ReadSourceSettings(pg::Connection& source) {
  pg::Result r = source.Exec("SELECT current_setting('server_encoding'), current_setting('lc_monetary')");
  return {std::string(r.Get(0, 0)), std::string(r.Get(0, 1))};
}

std::string Rate(int64_t bytes, double seconds) {
  double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
  return fmt::format("{:.1f} MB in {:.2f} s ({:.1f} MB/s)", mb, seconds, seconds > 0 ? mb / seconds : 0.0);
}

}  // namespace

std::vector<TableResult> RunCopies(const CopyJob& job) {
  std::vector<size_t> order(job.plans.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return job.plans[a].size_bytes > job.plans[b].size_bytes; });
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::exception_ptr first_error;
  std::vector<TableResult> results;
  int64_t estimated = 0;
  std::map<std::string, int64_t> per_table;  // the parts of a split table add up
  std::map<pg::TableName, size_t> plans_left;  // guarded by mu: a table is complete when its last plan commits
  for (const auto& p : job.plans) {
    estimated += p.size_bytes;
    per_table[p.table.name.Display()] += p.size_bytes;
    ++plans_left[p.table.name];
  }
  std::optional<ProgressMonitor> progress;
  if (!order.empty()) progress.emplace(job.target, job.set_name, estimated, order.size(), std::move(per_table));
  // Ctrl-C / SIGTERM cancels the running COPYs: each rolls back with its "copied" mark, and no other starts.
  pg::CancelWatch cancel(CancelFlag());

  auto worker = [&](int id) {
    try {
      pg::Connection source = pg::Connection::Open(job.source, {.role = "source"});
      pg::CancelWatch::Registration source_cancel = cancel.Register(source);
      SourceSettings settings = ReadSourceSettings(source);
      PrepareSession(source, settings.encoding, settings.lc_monetary);
      ImportSnapshot(source, job.snapshot);
      pg::Connection target = pg::Connection::Open(job.target, {.role = "target"});
      pg::CancelWatch::Registration target_cancel = cancel.Register(target);
      PrepareSession(target, settings.encoding, settings.lc_monetary);
      // A copy's rows and its "copied" mark commit in one transaction, so losing an unflushed commit in a target
      // crash loses both together (the table is simply copied again). Every later state change (indexing, loaded)
      // is a synchronous commit on another session, whose WAL flush also flushes every earlier commit.
      target.Exec("SET synchronous_commit = off");
      // As native logical replication's table sync writes: the target's own triggers and foreign-key checks on the
      // tables walferry keeps (--target-prep do-nothing/truncate) do not act on the copied rows, which the source's
      // triggers made and its constraints checked already (tables walferry created have neither yet). Tables of
      // one set come from one snapshot, so their foreign keys hold once all are copied, in whatever order.
      if (!pg::TrySetReplicaRole(target) && id == 1 && job.into_kept_tables) {
        Log()->warn("set {}: the target role may not set session_replication_role = replica: triggers and foreign "
                    "keys of tables kept on the target act on the copied rows (a row copied before the row it "
                    "references fails); use a superuser target role, or --target-prep drop",
                    job.set_name);
      }
      while (!failed && !cancel.fired()) {
        size_t k = next++;
        if (k >= order.size()) break;
        const TablePlan& plan = job.plans[order[k]];
        TableResult r = CopyTable(plan, source, target, job.control_schema, job.set_name, job.truncate_first[order[k]]);
        progress->Finished(r.bytes, r.rows);
        bool announce = false;
        {
          std::lock_guard lock(mu);
          results.push_back(r);
          Log()->info("copied {}{}: {} rows, {} [{}] ({}/{} copies, worker {})", r.table.Display(),
                      r.parts > 1 ? fmt::format(" part {}/{}", r.part + 1, r.parts) : "", r.rows,
                      Rate(r.bytes, r.seconds), r.binary ? "binary" : "text", results.size(), order.size(), id);
          announce = --plans_left[plan.table.name] == 0 && results.size() < order.size();
        }
        if (announce && job.on_table_copied && !failed) job.on_table_copied(plan.table.name);
      }
      source.Exec("COMMIT");
    } catch (...) {
      failed = true;
      std::lock_guard lock(mu);
      if (!first_error) first_error = std::current_exception();
    }
  };

  int jobs = std::max(1, std::min<int>(job.jobs, static_cast<int>(order.size())));
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < jobs; ++i) threads.emplace_back(worker, i + 1);
  }
  if (cancel.fired()) {
    throw Error(ErrorKind::kCancelled, fmt::format("interrupted (Ctrl-C / SIGTERM) while copying: {} of {} copies "
                                                   "were committed; the running ones were cancelled and rolled back",
                                                   results.size(), order.size()));
  }
  if (first_error) std::rethrow_exception(first_error);
  return results;
}

int CopySequences(const std::string& source_conninfo, const std::string& target_conninfo, const std::string& snapshot,
                  const std::vector<uint32_t>& table_oids) {
  return WithContext("setting sequences on the target", [&] {
    pg::Connection source = pg::Connection::Open(source_conninfo, {.role = "source"});
    pg::Connection target = pg::Connection::Open(target_conninfo, {.role = "target"});
    ImportSnapshot(source, snapshot);
    std::string oids = "{";
    for (size_t i = 0; i < table_oids.size(); ++i) oids += (i ? "," : "") + std::to_string(table_oids[i]);
    oids += "}";
    pg::Result seqs = source.Exec(sql::Get("load/owned_sequences"), {pg::Param(oids)});
    std::vector<pg::TableName> names;
    for (int i = 0; i < seqs.rows(); ++i) names.push_back({std::string(seqs.Get(i, 1)), std::string(seqs.Get(i, 2))});
    // A few round trips for all of them (thousands of serial tables have thousands of sequences).
    catalog::SetSequenceValues(target, catalog::ReadSequenceValues(source, names));
    source.Exec("COMMIT");
    return seqs.rows();
  });
}

}  // namespace walferry::load
