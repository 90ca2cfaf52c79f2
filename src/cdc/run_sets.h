// cdc/run_sets.h
//
// Runs one cdc::Worker per set, each on its own thread, until every one has ended (caught up to its stop
// position, stopped by `stop`, or failed). Every exception of a worker ends in its SetRun, never in
// std::terminate, and the other sets' workers keep running. Used by `walferry cdc` and `walferry cutover`.
#pragma once

#include <atomic>
#include <optional>
#include <vector>

#include "cdc/worker.h"
#include "common/error.h"

namespace walferry::cdc {

struct SetRun {
  WorkerOutcome outcome;       // valid when !error
  std::optional<Error> error;  // the exception that ended the worker
  bool ok() const { return !error && outcome.ok(); }
};

// The worker of set `set_name` as the configuration describes it (connections, control schema, cdc settings); no
// start, stop or until position.
WorkerOptions ConfiguredWorker(const config::Config& config, const std::string& set_name);

std::vector<SetRun> RunSets(const std::vector<WorkerOptions>& workers, const std::atomic<bool>& stop);

}  // namespace walferry::cdc
