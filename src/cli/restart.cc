// cli/restart.cc: `walferry restart --set NAME` (one set) and `walferry reset --yes` (every set): drop the sets'
// slots and publications, forget their state, load them again from a new snapshot (lifecycle/restart.h).
#include <iostream>

#include "cli/command.h"
#include "cli/load_output.h"
#include "common/error.h"
#include "lifecycle/restart.h"

namespace walferry::cli {
namespace {

int Report(const Context& ctx, const load::LoadReport& report) {
  if (ctx.global.json) {
    std::cout << LoadReportJson(report).dump(2) << "\n";
  } else {
    PrintLoadReport(report);
    std::cout << "next: walferry cdc (or migrate) streams from the new start\n";
  }
  return kExitOk;
}

class RestartCommand : public Command {
 public:
  std::string Name() const override { return "restart"; }
  std::string Description() const override {
    return "Load one set again from a new snapshot: drop its slot and publication, empty its tables, new CDC start";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_option("--set", set_, "The set to restart")->required();
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }
  int Run(Context& ctx) override {
    return Report(ctx, lifecycle::RestartSets(ctx.config, {set_}, "walferry restart --set " + set_));
  }

 private:
  ConnectionFlags flags_;
  std::string set_;
};

class ResetCommand : public Command {
 public:
  std::string Name() const override { return "reset"; }
  std::string Description() const override {
    return "Load every set again from new snapshots (the full restart); needs --yes";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_flag("--yes", yes_, "Confirm: every set's target tables are emptied and loaded again");
  }
  void ApplyFlags(Context& ctx) override {
    flags_.Apply(ctx, true, true);
    if (!yes_) {
      throw Error(ErrorKind::kUsage, "reset empties every set's tables on the target and loads them again")
          .WithHint("pass --yes to confirm (walferry restart --set NAME restarts one set)");
    }
  }
  int Run(Context& ctx) override {
    return Report(ctx, lifecycle::RestartSets(ctx.config, config::SetNames(ctx.config), "walferry reset"));
  }

 private:
  ConnectionFlags flags_;
  bool yes_ = false;
};

WALFERRY_REGISTER_COMMAND(RestartCommand);
WALFERRY_REGISTER_COMMAND(ResetCommand);

}  // namespace
}  // namespace walferry::cli
