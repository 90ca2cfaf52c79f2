// cli/cdc.cc: `walferry cdc` streams every change out of each set's slot and applies it exactly once
// (src/cdc/worker.h). One worker thread per set. Ctrl-C / SIGTERM: each worker finishes its open transaction,
// records its position and the command exits 0. Exit 1 when a worker FAILED. Exit 2, nothing started, when
// another process already streams one of the sets (cdc/slot_reader.h). --listen also serves the status page,
// /metrics and /api/status from this process while it runs (as walferry serve).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cdc/run_sets.h"
#include "cdc/slot_reader.h"
#include "cli/command.h"
#include "cli/listen_flags.h"
#include "common/cancel.h"
#include "common/log.h"
#include "control/control_schema.h"

namespace walferry::cli {
namespace {

class CdcCommand : public Command {
 public:
  std::string Name() const override { return "cdc"; }
  std::string Description() const override {
    return "Stream changes from each set's replication slot and apply them to the target exactly once";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_option("--set", set_, "Only this set (default: every set)");
    app.add_option("--start-lsn", start_lsn_, "Skip transactions that committed before LSN (load done elsewhere)");
    app.add_option("--until-lsn", until_lsn_, "Stop before the first transaction that commits at or after LSN");
    app.add_flag("--until-caught-up", until_caught_up_,
                 "Stop once everything up to the source's WAL position at start is applied");
    listen_.Add(app, false);
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    cdc::ErrorPolicy policy = cdc::ParseErrorPolicy(ctx.config.cdc.error_policy);
    if (policy != cdc::ErrorPolicy::kStop) {
      log::For("target_apply")->warn("cdc.error_policy is {}: a change the target rejects is NOT applied; it is "
                                     "recorded in {}.apply_exceptions (see walferry status)",
                                     ctx.config.cdc.error_policy, ctx.config.control_schema);
    }
    std::vector<cdc::WorkerOptions> workers = Plan(ctx);
    // One reader per set (cdc/slot_reader.h): refused as a whole before any set starts.
    std::vector<std::string> names;
    for (const auto& w : workers) names.push_back(w.set_name);
    cdc::RefuseSetsReadElsewhere(ctx.config, names);
    std::unique_ptr<serve::Server> server = listen_.Start(ctx.config);  // --listen: as walferry serve
    InstallCancelHandlers();
    std::vector<cdc::SetRun> runs = cdc::RunSets(workers, CancelFlag());
    return Report(ctx, workers, runs);
  }

 private:
  std::vector<cdc::WorkerOptions> Plan(const Context& ctx) const {
    // Each table's own apply mode (batch or transactional) goes to its set's worker (cdc::ConfiguredWorker); the
    // "default" set of a configuration without sets applies transactionally.
    std::vector<std::string> sets;
    for (const auto& s : ctx.config.sets) sets.push_back(s.name);
    if (sets.empty()) sets.push_back("default");
    std::vector<cdc::WorkerOptions> out;
    for (const auto& name : sets) {
      if (!set_.empty() && name != set_) continue;
      control::ValidateSetName(name);
      cdc::WorkerOptions w = cdc::ConfiguredWorker(ctx.config, name);
      if (!start_lsn_.empty()) w.start_lsn = Lsn::Parse(start_lsn_);
      if (!until_lsn_.empty()) w.until_lsn = Lsn::Parse(until_lsn_);
      w.until_caught_up = until_caught_up_;
      out.push_back(std::move(w));
    }
    if (out.empty()) throw Error(ErrorKind::kUsage, "no set named '" + set_ + "' in the configuration");
    return out;
  }

  int Report(const Context& ctx, const std::vector<cdc::WorkerOptions>& workers,
             const std::vector<cdc::SetRun>& runs) const {
    int code = kExitOk;
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < workers.size(); ++i) {
      if (const auto& error = runs[i].error) {
        if (code == kExitOk) code = ExitCodeFor(*error);
        out.push_back({{"set", workers[i].set_name}, {"state", "FAILED"}, {"error", error->what()}});
        if (!ctx.global.json) std::cout << workers[i].set_name << ": FAILED\n  " << error->what() << "\n";
        continue;
      }
      const auto& o = runs[i].outcome;
      if (!o.ok()) code = kExitFailure;
      out.push_back({{"set", workers[i].set_name}, {"state", o.state}, {"applied_lsn", o.applied_lsn.ToString()},
                     {"rows_applied", o.rows_applied}, {"error", o.error}});
      if (!ctx.global.json) {
        std::cout << workers[i].set_name << ": " << o.state;
        if (o.applied_lsn.valid()) {
          std::cout << " at " << o.applied_lsn.ToString() << " (" << o.rows_applied << " row changes applied)\n";
        } else {
          std::cout << ": nothing applied yet (no source transaction committed after the set's start)\n";
        }
        if (!o.error.empty()) std::cout << "  " << o.error << "\n";
      }
    }
    if (ctx.global.json) {
      std::cout << out.dump(2) << "\n";
    } else if (code == kExitOk) {
      std::cout << "next: walferry status shows each set's lag; walferry cdc continues from here; walferry cutover "
                   "switches once the lag is small\n";
    }
    return code;
  }

  ConnectionFlags flags_;
  std::string set_;
  std::string start_lsn_;
  std::string until_lsn_;
  bool until_caught_up_ = false;
  ListenFlags listen_;
};

WALFERRY_REGISTER_COMMAND(CdcCommand);

}  // namespace
}  // namespace walferry::cli
