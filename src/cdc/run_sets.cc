#include "cdc/run_sets.h"

#include <thread>

namespace walferry::cdc {

WorkerOptions ConfiguredWorker(const config::Config& config, const std::string& set_name) {
  WorkerOptions w;
  w.set_name = set_name;
  w.source = config.source;
  w.target = config.target;
  w.control_schema = config.control_schema;
  w.migration_id = config.migration_id;
  w.dms_compatible_views = config.dms_compatible_views;
  w.cdc = config.cdc;
  w.apply_exceptions_retention = std::chrono::seconds(config.retention.apply_exceptions_seconds);
  for (const config::SetConfig& s : config.sets) {
    for (const config::TableConfig& t : s.tables) {
      if (s.name == set_name) {
        w.tables.push_back(t.name);
        if (t.apply.value_or(s.apply) == config::ApplyMode::kBatch) w.batch_tables.insert(t.name);
      } else {
        w.other_sets_tables.insert(t.name);
      }
    }
  }
  return w;
}

std::vector<SetRun> RunSets(const std::vector<WorkerOptions>& workers, const std::atomic<bool>& stop) {
  std::vector<SetRun> runs(workers.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        runs[i].outcome = Worker(workers[i], stop).Run();
      } catch (const Error& e) {
        runs[i].error = e;
      } catch (const std::exception& e) {
        runs[i].error = Error(ErrorKind::kInternal, e.what());
      } catch (...) {
        runs[i].error = Error(ErrorKind::kInternal, "unknown exception in the worker of set " + workers[i].set_name);
      }
    });
  }
  for (auto& t : threads) t.join();
  return runs;
}

}  // namespace walferry::cdc
