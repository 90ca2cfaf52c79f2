// migrate/pipeline.h
//
// The whole migration as steps that `walferry migrate` and the demo share, built from one Config:
//   LoadPending  - load every set the control schema does not record as loaded (load/loader.h);
//   RunCdc       - one CDC worker per set on its own thread until `stop` or their stop points (cdc/worker.h);
//   ReadStatus   - each set's row of the control status table, for progress display;
//   Validate     - compare every set's tables (validate/validator.h).
// A later run continues where an earlier one stopped: loaded sets are not loaded again, and CDC resumes from
// each set's checkpoint. Not thread-safe; call from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cdc/worker.h"
#include "config/config.h"
#include "control/set_status.h"
#include "load/loader.h"
#include "validate/report.h"

namespace walferry::migrate {

// migrate's load flags; each unset one comes from walferry.yaml's load section (load::ConfiguredLoad).
struct LoadSettings {
  int table_jobs = 0;         // 0: config load.table_jobs, else the number of cores
  int index_jobs = 0;         // 0: config load.index_jobs
  std::string target_prep;    // empty: config load.target_prep
  std::optional<int64_t> split_tables_larger_than;  // bytes; nullopt: config load.split_tables_larger_than
};

// Logs a warning per table whose lob policy is truncate (a DMS-only setting: walferry never truncates).
void WarnAboutLobPolicies(const config::Config& config);

// Loads the sets not yet loaded, each by its own state (load --resume's rule): a set no earlier run started is
// loaded from scratch, an interrupted one (loading, indexing) is finished, a loaded one is left alone. nullopt
// when every set was already loaded by an earlier run. Ctrl-C / SIGTERM stops it at once: Error(kCancelled).
std::optional<load::LoadReport> LoadPending(const config::Config& config, const LoadSettings& settings);

std::vector<cdc::WorkerOptions> CdcWorkers(const config::Config& config, bool until_caught_up);

struct CdcResult {
  std::string set_name;
  cdc::WorkerOutcome outcome;  // state FAILED with the error when the worker could not start either
};

// Runs the workers on threads; calls on_tick() on this thread about every `tick` until all have ended. `ended`
// counts the workers that have ended so far (a FAILED one is logged at once).
std::vector<CdcResult> RunCdc(const std::vector<cdc::WorkerOptions>& workers, const std::atomic<bool>& stop,
                              std::chrono::milliseconds tick, const std::function<void()>& on_tick,
                              std::atomic<size_t>& ended);

// CDC for every set in the background: Start() returns at once; the workers run until Stop() (or Ctrl-C, which
// the runner passes on), then Finish() joins them and returns their outcomes. on_tick runs on the runner's
// thread about every `tick`.
class BackgroundCdc {
 public:
  BackgroundCdc() = default;
  ~BackgroundCdc();
  BackgroundCdc(const BackgroundCdc&) = delete;
  BackgroundCdc& operator=(const BackgroundCdc&) = delete;

  void Start(std::vector<cdc::WorkerOptions> workers, std::chrono::milliseconds tick, std::function<void()> on_tick);
  void Stop() { stop_ = true; }
  bool finished() const { return finished_; }
  // True once any worker has ended (failed, or reached a stop point): the sets are no longer all being applied.
  bool any_ended() const { return ended_ > 0; }
  std::vector<CdcResult> Finish();

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::atomic<size_t> ended_{0};
  std::vector<CdcResult> results_;
  std::thread thread_;
};

// Where the source is now, as a stop position a keepalive reaches (cdc::SourceStopPosition).
Lsn SourceWalPosition(const config::Config& config);

// Polls until every set's slot is confirmed at or past `lsn` (its CDC worker has applied everything of the set
// committed before it); false when give_up() says so first.
bool WaitUntilCaughtUp(const config::Config& config, Lsn lsn, const std::function<bool()>& give_up);

// Every set's CDC status, as `walferry status` reads it (control::ReadSetStatuses: the same rule for "running").
std::vector<control::SetStatusRow> ReadStatus(const config::Config& config);
// One line per set: "set_1  CHANGE PROCESSING  applied 0/3A2B1C8  latency 0.4 s  1200 rows/s  0 exception(s)";
// the state reads "not running (last: ...)" as in `walferry status`.
std::string FormatStatus(const std::vector<control::SetStatusRow>& status);

validate::Report Validate(const config::Config& config);

}  // namespace walferry::migrate
