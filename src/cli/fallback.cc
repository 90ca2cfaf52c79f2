// cli/fallback.cc: `walferry fallback` after `walferry cutover --fallback` (lifecycle/fallback.h): streams the
// target's changes back to the old source (exit 0 on Ctrl-C, 1 when the worker FAILED); `--switch-back` makes the
// old source the primary again (a cutover in the other direction, same flags); `--end` drops the reverse slot.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cdc/run_sets.h"
#include "cli/command.h"
#include "cli/switch_flags.h"
#include "common/cancel.h"
#include "common/error.h"
#include "lifecycle/cutover.h"
#include "lifecycle/fallback.h"
#include "pg/connection.h"

namespace walferry::cli {
namespace {

class FallbackCommand : public Command {
 public:
  std::string Name() const override { return "fallback"; }
  std::string Description() const override {
    return "After cutover --fallback: stream the target's changes back to the old source; --switch-back makes the "
           "old source the primary again; --end drops the reverse slot";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_flag("--until-caught-up", until_caught_up_,
                 "Stop once everything up to the target's WAL position at start is applied");
    app.add_flag("--switch-back", switch_back_,
                 "Stop writes on the target, catch the old source up, sequences, large objects, validate, and make "
                 "the old source writable again (safe to interrupt and rerun)");
    switch_.Add(app, "target", "With --switch-back: ");
    app.add_flag("--end", end_, "Drop the reverse slot, publication and triggers on the target (no way back after)");
    app.add_flag("--force", force_, "With --end: end a walsender that is reading the reverse slot");
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    if (int modes = (switch_back_ ? 1 : 0) + (end_ ? 1 : 0); modes > 1) {
      throw Error(ErrorKind::kUsage, "--switch-back and --end exclude each other");
    }
    if (switch_.abort && !switch_back_) throw Error(ErrorKind::kUsage, "--abort goes with --switch-back");
    if (end_) return End(ctx);
    if (switch_back_) return SwitchBack(ctx);
    return Stream(ctx);
  }

 private:
  int Stream(Context& ctx) {
    cdc::WorkerOptions w = lifecycle::FallbackWorker(ctx.config);
    w.until_caught_up = until_caught_up_;
    InstallCancelHandlers();
    std::vector<cdc::SetRun> runs = cdc::RunSets({w}, CancelFlag());
    const cdc::SetRun& run = runs.front();
    if (run.error) throw Error(*run.error).AddContext("streaming the target's changes back to the old source");
    const cdc::WorkerOutcome& o = run.outcome;
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"set", w.set_name}, {"state", o.state}, {"applied_lsn", o.applied_lsn.ToString()},
                                  {"rows_applied", o.rows_applied}, {"error", o.error}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << "fallback " << w.set_name << ": " << o.state << " at " << o.applied_lsn.ToString() << " ("
                << o.rows_applied << " row changes applied to the old source)\n";
      if (!o.error.empty()) std::cout << "  " << o.error << "\n";
    }
    return o.ok() ? kExitOk : kExitFailure;
  }

  int SwitchBack(Context& ctx) {
    lifecycle::CutoverOptions o;
    {
      pg::Connection target = pg::Connection::Open(ctx.config.target, {.role = "target"});
      pg::Connection old_source = pg::Connection::Open(ctx.config.source, {.role = "old source"});
      o.config = lifecycle::FallbackConfig(ctx.config, target, lifecycle::FallbackSetName(target, old_source));
    }
    switch_.Apply(o);
    o.make_target_writable = true;
    o.names = {"target", "old source", "walferry fallback --switch-back"};
    if (switch_.abort) {
      std::string db = lifecycle::AbortCutover(o);
      if (ctx.global.json) {
        std::cout << nlohmann::json{{"aborted", true}, {"target_database", db}}.dump(2) << "\n";
      } else {
        std::cout << "switch back aborted: the old source is read-only again, the target database " << db
                  << " takes writes again (new sessions); run walferry fallback to resume\n";
      }
      return kExitOk;
    }
    InstallCancelHandlers();
    lifecycle::CutoverReport r = lifecycle::Cutover(o, CancelFlag());
    if (ctx.global.json) {
      std::cout << SwitchReportJson(r, "target_database").dump(2) << "\n";
      return kExitOk;
    }
    if (r.already_done) std::cout << "the switch back was completed by an earlier run\n";
    std::cout << "switched back: the old source has every change of the target up to " << r.final_lsn
              << " and takes writes again\n";
    PrintSwitchSummary(r, "old source writable");
    std::cout << "next: point the application at the old source. The target database " << r.source_database
              << " stays READ-ONLY; to migrate again, start over with walferry reset\n";
    return kExitOk;
  }

  int End(Context& ctx) {
    lifecycle::CleanupReport r = lifecycle::EndFallback(ctx.config, force_);
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"dropped", r.dropped}}.dump(2) << "\n";
      return kExitOk;
    }
    if (r.dropped.empty()) std::cout << "nothing to drop: the fallback's slot and publication are gone already\n";
    for (const auto& d : r.dropped) std::cout << "dropped " << d << "\n";
    std::cout << "the fallback is ended: the old source no longer follows the target\n";
    return kExitOk;
  }

  ConnectionFlags flags_;
  bool until_caught_up_ = false;
  bool switch_back_ = false;
  SwitchFlags switch_;
  bool end_ = false;
  bool force_ = false;
};

WALFERRY_REGISTER_COMMAND(FallbackCommand);

}  // namespace
}  // namespace walferry::cli
