// cli/cutover.cc: `walferry cutover` runs or continues the switch (lifecycle/cutover.h) and prints the summary
// with the next steps; `--abort` makes the source writable again.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/cancel.h"
#include "common/error.h"
#include "lifecycle/cutover.h"

namespace walferry::cli {
namespace {

class CutoverCommand : public Command {
 public:
  std::string Name() const override { return "cutover"; }
  std::string Description() const override {
    return "Switch to the target: stop writes on the source, catch up, sequences, large objects, validate, analyze, "
           "drop the slots (safe to interrupt and rerun)";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_flag("--writes-stopped", writes_stopped_,
                 "The application no longer writes (stopped by the operator): do not wait for its sessions");
    app.add_flag("--terminate-sessions", terminate_,
                 "End the source database's sessions that connected before writes were stopped");
    app.add_option("--timeout", timeout_, "Seconds to wait for those sessions to end (default 60)")
        ->check(CLI::Range(1, 86400));
    app.add_option("--max-lag", max_lag_,
                   "Seconds a catch-up round before the switch may take at most (default 30): the pause with writes "
                   "stopped is about that long")
        ->check(CLI::Range(1, 86400));
    app.add_flag("--allow-suspended", allow_suspended_, "Switch even with suspended tables (cdc suspend-table)");
    app.add_flag("--no-validate", no_validate_, "Skip the final comparison of every table");
    app.add_option("--on-difference", on_difference_,
                   "What the final validation does with differences: abort (default: report, source stays "
                   "read-only, exit 1) or repair (rewrite them from the frozen source, then compare again)")
        ->check(CLI::IsMember({"abort", "repair"}));
    app.add_option("--jobs", jobs_, "Connection pairs of the final validation (default 2)")->check(CLI::Range(1, 256));
    app.add_flag("--keep-slots", keep_slots_, "Keep the source's slots and publications after the switch");
    app.add_flag("--fallback", fallback_,
                 "Also prepare a way back: a slot on the target from the switch on, streamed back to the old source "
                 "by walferry fallback (the target needs wal_level=logical)");
    app.add_flag("--abort", abort_, "Make the source writable again and end an unfinished cutover (CDC can resume)");
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    lifecycle::CutoverOptions o;
    o.config = ctx.config;
    o.writes_stopped = writes_stopped_;
    o.terminate_sessions = terminate_;
    o.timeout = std::chrono::seconds(timeout_);
    o.allow_suspended = allow_suspended_;
    o.max_lag = std::chrono::seconds(max_lag_);
    o.validate = !no_validate_;
    o.repair = on_difference_ == "repair";
    o.validate_jobs = jobs_;
    o.keep_slots = keep_slots_;
    o.fallback = fallback_;
    if (abort_) {
      std::string db = lifecycle::AbortCutover(o);
      if (ctx.global.json) {
        std::cout << nlohmann::json{{"aborted", true}, {"source_database", db}}.dump(2) << "\n";
      } else {
        std::cout << "cutover aborted: the source database " << db
                  << " takes writes again (new sessions); run walferry cdc to resume\n";
      }
      return kExitOk;
    }
    InstallCancelHandlers();
    lifecycle::CutoverReport r = lifecycle::Cutover(o, CancelFlag());
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"source_database", r.source_database},
                                  {"final_lsn", r.final_lsn},
                                  {"downtime_seconds", r.downtime_seconds},
                                  {"sequences", r.sequences},
                                  {"large_objects_copied", r.large_objects_copied},
                                  {"large_objects_unlinked", r.large_objects_unlinked},
                                  {"validated", r.validated},
                                  {"dropped", r.dropped},
                                  {"already_done", r.already_done},
                                  {"fallback_set", r.fallback ? r.fallback->set_name : ""},
                                  {"fallback_start_lsn", r.fallback ? r.fallback->start.ToString() : ""}}
                       .dump(2)
                << "\n";
      return kExitOk;
    }
    if (r.already_done) std::cout << "the cutover was completed by an earlier run\n";
    std::cout << "cutover complete: every set applied up to " << r.final_lsn << " on the target\n"
              << fmt::format("  downtime (writes stopped -> target ready): {:.1f} s\n", r.downtime_seconds);
    if (!r.already_done) {
      std::cout << "  sequences set: " << r.sequences << "\n"
                << "  large objects copied or replaced: " << r.large_objects_copied
                << ", unlinked: " << r.large_objects_unlinked << "\n"
                << "  final validation: " << (r.validated ? "every table equal" : "skipped (--no-validate)") << "\n";
      for (const auto& d : r.dropped) std::cout << "  dropped " << d << "\n";
      if (r.fallback) {
        std::cout << "  fallback: the target's changes from " << r.fallback->start.ToString()
                  << " on are kept in its slot walferry_" << r.fallback->set_name
                  << "; start walferry fallback now to carry them back to the old source\n";
      }
    }
    std::cout << "next: point the application at the target. The source database " << r.source_database
              << " stays READ-ONLY; if it must take writes again: ALTER DATABASE \"" << r.source_database
              << "\" RESET default_transaction_read_only\n";
    return kExitOk;
  }

 private:
  ConnectionFlags flags_;
  bool writes_stopped_ = false;
  bool terminate_ = false;
  int timeout_ = 60;
  int max_lag_ = 30;
  bool allow_suspended_ = false;
  bool no_validate_ = false;
  std::string on_difference_ = "abort";
  int jobs_ = 2;
  bool keep_slots_ = false;
  bool fallback_ = false;
  bool abort_ = false;
};

WALFERRY_REGISTER_COMMAND(CutoverCommand);

}  // namespace
}  // namespace walferry::cli
