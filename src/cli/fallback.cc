// cli/fallback.cc: `walferry fallback` after `walferry cutover --fallback` (lifecycle/fallback.h): streams the
// target's changes back to the old source (exit 0 on Ctrl-C, 1 when the worker FAILED); `--switch-back` makes the
// old source the primary again (a cutover in the other direction, same flags); `--end` drops the reverse slot.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cdc/run_sets.h"
#include "cli/command.h"
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
    app.add_flag("--writes-stopped", writes_stopped_, "With --switch-back: the application no longer writes");
    app.add_flag("--terminate-sessions", terminate_,
                 "With --switch-back: end the target database's sessions that connected before writes were stopped");
    app.add_option("--timeout", timeout_, "With --switch-back: seconds to wait for those sessions (default 60)")
        ->check(CLI::Range(1, 86400));
    app.add_option("--max-lag", max_lag_, "With --switch-back: seconds a catch-up round may take (default 30)")
        ->check(CLI::Range(1, 86400));
    app.add_flag("--no-validate", no_validate_, "With --switch-back: skip the final comparison");
    app.add_option("--on-difference", on_difference_, "With --switch-back: abort (default) or repair")
        ->check(CLI::IsMember({"abort", "repair"}));
    app.add_option("--jobs", jobs_, "With --switch-back: connection pairs of the final validation (default 2)")
        ->check(CLI::Range(1, 256));
    app.add_flag("--abort", abort_, "With --switch-back: make the target writable again and end an unfinished "
                                    "switch back (the fallback can resume)");
    app.add_flag("--end", end_, "Drop the reverse slot, publication and triggers on the target (no way back after)");
    app.add_flag("--force", force_, "With --end: end a walsender that is reading the reverse slot");
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    if (int modes = (switch_back_ ? 1 : 0) + (end_ ? 1 : 0); modes > 1) {
      throw Error(ErrorKind::kUsage, "--switch-back and --end exclude each other");
    }
    if (abort_ && !switch_back_) throw Error(ErrorKind::kUsage, "--abort goes with --switch-back");
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
      o.config = lifecycle::FallbackConfig(ctx.config, target, lifecycle::FallbackSetName(target));
    }
    o.writes_stopped = writes_stopped_;
    o.terminate_sessions = terminate_;
    o.timeout = std::chrono::seconds(timeout_);
    o.max_lag = std::chrono::seconds(max_lag_);
    o.validate = !no_validate_;
    o.repair = on_difference_ == "repair";
    o.validate_jobs = jobs_;
    o.make_target_writable = true;
    o.names = {"target", "old source", "walferry fallback --switch-back"};
    if (abort_) {
      std::string db = lifecycle::AbortCutover(o);
      if (ctx.global.json) {
        std::cout << nlohmann::json{{"aborted", true}, {"target_database", db}}.dump(2) << "\n";
      } else {
        std::cout << "switch back aborted: the target database " << db
                  << " takes writes again (new sessions); run walferry fallback to resume\n";
      }
      return kExitOk;
    }
    InstallCancelHandlers();
    lifecycle::CutoverReport r = lifecycle::Cutover(o, CancelFlag());
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"target_database", r.source_database},
                                  {"final_lsn", r.final_lsn},
                                  {"downtime_seconds", r.downtime_seconds},
                                  {"sequences", r.sequences},
                                  {"large_objects_copied", r.large_objects_copied},
                                  {"large_objects_unlinked", r.large_objects_unlinked},
                                  {"validated", r.validated},
                                  {"dropped", r.dropped},
                                  {"already_done", r.already_done}}
                       .dump(2)
                << "\n";
      return kExitOk;
    }
    if (r.already_done) std::cout << "the switch back was completed by an earlier run\n";
    std::cout << "switched back: the old source has every change of the target up to " << r.final_lsn
              << " and takes writes again\n"
              << fmt::format("  downtime (writes stopped -> old source writable): {:.1f} s\n", r.downtime_seconds);
    if (!r.already_done) {
      std::cout << "  sequences set: " << r.sequences << "\n"
                << "  large objects copied or replaced: " << r.large_objects_copied
                << ", unlinked: " << r.large_objects_unlinked << "\n"
                << "  final validation: " << (r.validated ? "every table equal" : "skipped (--no-validate)") << "\n";
      for (const auto& d : r.dropped) std::cout << "  dropped " << d << "\n";
    }
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
  bool writes_stopped_ = false;
  bool terminate_ = false;
  int timeout_ = 60;
  int max_lag_ = 30;
  bool no_validate_ = false;
  std::string on_difference_ = "abort";
  int jobs_ = 2;
  bool abort_ = false;
  bool end_ = false;
  bool force_ = false;
};

WALFERRY_REGISTER_COMMAND(FallbackCommand);

}  // namespace
}  // namespace walferry::cli
