// cli/cutover.cc: `walferry cutover` runs or continues the switch (lifecycle/cutover.h) and prints the summary
// with the next steps; `--abort` makes the source writable again.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/switch_flags.h"
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
    switch_.Add(app, "source");
    app.add_flag("--allow-suspended", allow_suspended_, "Switch even with suspended tables (cdc suspend-table)");
    app.add_flag("--block-connections", block_connections_,
                 "For the downtime, revoke CONNECT on the source database from every role but walferry's (recorded "
                 "on the target; given back at the end and by --abort; superusers are not held back)");
    app.add_flag("--keep-slots", keep_slots_, "Keep the source's slots and publications after the switch");
    app.add_flag("--fallback", fallback_,
                 "Also prepare a way back: a slot on the target from the switch on, streamed back to the old source "
                 "by walferry fallback (the target needs wal_level=logical)");
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    lifecycle::CutoverOptions o;
    o.config = ctx.config;
    switch_.Apply(o);
    o.allow_suspended = allow_suspended_;
    o.keep_slots = keep_slots_;
    o.block_connections = block_connections_;
    o.fallback = fallback_;
    if (switch_.abort) {
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
      nlohmann::json out = SwitchReportJson(r, "source_database");
      out["fallback_set"] = r.fallback ? r.fallback->set_name : "";
      out["fallback_start_lsn"] = r.fallback ? r.fallback->start.ToString() : "";
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    }
    if (r.already_done) std::cout << "the cutover was completed by an earlier run\n";
    std::cout << "cutover complete: every set applied up to " << r.final_lsn << " on the target\n";
    PrintSwitchSummary(r, "target ready");
    if (r.fallback) {
      std::cout << "  fallback: the target's changes from " << r.fallback->start.ToString()
                << " on are kept in its slot " << r.fallback->slot_name
                << "; start walferry fallback now to carry them back to the old source\n";
    }
    std::cout << "next: point the application at the target. The source database " << r.source_database
              << " stays READ-ONLY; if it must take writes again: ALTER DATABASE \"" << r.source_database
              << "\" RESET default_transaction_read_only\n";
    return kExitOk;
  }

 private:
  ConnectionFlags flags_;
  SwitchFlags switch_;
  bool allow_suspended_ = false;
  bool keep_slots_ = false;
  bool block_connections_ = false;
  bool fallback_ = false;
};

WALFERRY_REGISTER_COMMAND(CutoverCommand);

}  // namespace
}  // namespace walferry::cli
