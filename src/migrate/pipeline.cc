#include "migrate/pipeline.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cdc/run_sets.h"
#include "cdc/stop_position.h"
#include "common/cancel.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "control/set_status.h"
#include "sql/sql.h"
#include "validate/validator.h"

namespace walferry::migrate {

using config::SetNames;

void WarnAboutLobPolicies(const config::Config& config) {
  for (const auto& set : config.sets) {
    for (const auto& t : set.tables) {
      if (t.lob.policy == config::LobPolicy::kTruncate) {
        log::For("migrate")->warn("{}: lob policy 'truncate' applies to DMS mappings only; walferry carries every "
                                  "value of this table whole and never truncates", t.name.Display());
      }
    }
  }
}

std::optional<load::LoadReport> LoadPending(const config::Config& config, const LoadSettings& settings) {
  WarnAboutLobPolicies(config);
  // Which sets an earlier run already loaded (read-only: the control schema may not exist yet).
  std::vector<std::string> pending;
  {
    pg::Connection target = pg::Connection::Open(config.target, {.role = "target"});
    control::ControlSchema control(target, config.control_schema);
    bool exists = control.Exists();
    for (const auto& name : SetNames(config)) {
      auto row = exists ? control.GetSet(name) : std::nullopt;
      if (!row || row->load_state != control::LoadState::kLoaded) pending.push_back(name);
    }
  }
  if (pending.empty()) return std::nullopt;
  // Every load setting of walferry.yaml (split_tables_larger_than too), then migrate's flags.
  load::LoadOptions o = load::ConfiguredLoad(config);
  if (settings.table_jobs > 0) o.table_jobs = settings.table_jobs;
  if (settings.index_jobs > 0) o.index_jobs = settings.index_jobs;
  if (!settings.target_prep.empty()) o.target_prep = settings.target_prep;
  if (settings.split_tables_larger_than) o.split_tables_larger_than = *settings.split_tables_larger_than;
  // Each set by its own state: loaded ones are skipped, interrupted ones finished, the others loaded.
  o.resume = true;
  return load::RunLoad(o);
}

std::vector<cdc::WorkerOptions> CdcWorkers(const config::Config& config, bool until_caught_up) {
  std::vector<cdc::WorkerOptions> out;
  for (const auto& name : SetNames(config)) {
    cdc::WorkerOptions w = cdc::ConfiguredWorker(config, name);
    w.until_caught_up = until_caught_up;
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<CdcResult> RunCdc(const std::vector<cdc::WorkerOptions>& workers, const std::atomic<bool>& stop,
                              std::chrono::milliseconds tick, const std::function<void()>& on_tick,
                              std::atomic<size_t>& ended) {
  std::vector<CdcResult> results(workers.size());
  std::atomic<size_t> running{workers.size()};
  ended = 0;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers.size(); ++i) {
    results[i].set_name = workers[i].set_name;
    threads.emplace_back([&, i] {
      try {
        results[i].outcome = cdc::Worker(workers[i], stop).Run();
      } catch (const std::exception& e) {
        results[i].outcome.state = control::ToString(control::TaskState::kFailed);  // the outcome is still text
        results[i].outcome.error = e.what();
      }
      if (!results[i].outcome.ok()) {
        log::For("migrate")->error("set {}: CDC FAILED: {}", workers[i].set_name, results[i].outcome.error);
      }
      ++ended;
      --running;
    });
  }
  auto next = std::chrono::steady_clock::now() + tick;
  while (running > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() >= next && running > 0) {
      if (on_tick) on_tick();
      next += tick;
    }
  }
  for (auto& t : threads) t.join();
  return results;
}

BackgroundCdc::~BackgroundCdc() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void BackgroundCdc::Start(std::vector<cdc::WorkerOptions> workers, std::chrono::milliseconds tick,
                          std::function<void()> on_tick) {
  thread_ = std::thread([this, workers = std::move(workers), tick, on_tick = std::move(on_tick)] {
    // Ticks every 100 ms so Ctrl-C reaches the workers at once; the caller's on_tick runs every `tick`.
    auto next = std::chrono::steady_clock::now() + tick;
    results_ = RunCdc(workers, stop_, std::chrono::milliseconds(100), [&] {
      if (CancelRequested()) stop_ = true;
      if (on_tick && std::chrono::steady_clock::now() >= next) {
        on_tick();
        next = std::chrono::steady_clock::now() + tick;
      }
    }, ended_);
    finished_ = true;
  });
}

std::vector<CdcResult> BackgroundCdc::Finish() {
  if (thread_.joinable()) thread_.join();
  return results_;
}

Lsn SourceWalPosition(const config::Config& config) {
  pg::Connection source = pg::Connection::Open(config.source, {.role = "source"});
  return cdc::SourceStopPosition(source);
}

bool WaitUntilCaughtUp(const config::Config& config, Lsn lsn, const std::function<bool()>& give_up) {
  pg::Connection source = pg::Connection::Open(config.source, {.role = "source"});
  std::vector<std::string> names = SetNames(config);
  const control::MigrationNames migration = control::NamesFor(source, config.migration_id);
  while (!give_up()) {
    size_t caught_up = 0;
    for (const auto& name : names) {
      pg::Result slot =
          source.Exec(sql::Get("cdc/slot_info"), {pg::Param(control::SlotName(migration, name))});
      auto confirmed = slot.rows() == 1 ? slot.GetOpt(0, 0) : std::nullopt;
      if (confirmed && Lsn::Parse(*confirmed) >= lsn) ++caught_up;
    }
    if (caught_up == names.size()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

std::vector<control::SetStatusRow> ReadStatus(const config::Config& config) {
  pg::Connection target = pg::Connection::Open(config.target, {.role = "target"});
  pg::Connection source = pg::Connection::Open(config.source, {.role = "source"});
  return control::ReadSetStatuses(target, config.control_schema, source);
}

std::string FormatStatus(const std::vector<control::SetStatusRow>& status) {
  std::string out;
  for (const auto& s : status) {
    out += fmt::format("  {:<12} {:<18} applied {:<12} latency {:>6}  {:>9} rows/s  {} exception(s)\n", s.set_name,
                       control::DisplayState(s), s.applied_lsn ? s.applied_lsn->ToString() : "-",
                       s.latency_seconds ? fmt::format("{:.1f} s", *s.latency_seconds) : "-",
                       s.rows_per_second ? fmt::format("{:.0f}", *s.rows_per_second) : "-", s.exceptions);
  }
  return out;
}

validate::Report Validate(const config::Config& config) {
  std::vector<validate::SetTables> sets = WithContext("reading the source's tables", [&] {
    pg::Connection source = pg::Connection::Open(config.source, {.role = "source"});
    // Sizes only split validate's work: heap and TOAST data, no index opened (catalog::Sizes::kData).
    return validate::ResolveSets(config, catalog::ListTables(source, config.control_schema, catalog::Sizes::kData), "", {});
  });
  validate::Options o;
  o.source = config.source;
  o.target = config.target;
  o.control_schema = config.control_schema;
  o.failures_retention = std::chrono::seconds(config.retention.validation_failures_seconds);
  return validate::Run(o, sets);
}

}  // namespace walferry::migrate
