// cli/assess.cc: `walferry assess` inventories the source for a migration (read-only) and prints tables for people
// or the JSON document of docs/schema/assess-v1.json. Exit 0 when no preflight check fails, 2 when one does,
// 1 on a runtime failure. See docs/assess.md.
#include <iostream>

#include "assess/report.h"
#include "cli/assess_flags.h"
#include "cli/command.h"

namespace walferry::cli {
namespace {

class AssessCommand : public Command {
 public:
  std::string Name() const override { return "assess"; }
  std::string Description() const override {
    return "Inventory the source (read-only): sizes, write rates, keys, LOB sizes, findings and preflight checks";
  }
  void Setup(CLI::App& app) override {
    conn_.Add(app, true, true);
    flags_.Add(app);
  }
  void ApplyFlags(Context& ctx) override { conn_.Apply(ctx, true, false); }

  int Run(Context& ctx) override {
    assess::AssessOptions options = flags_.Options(ctx);
    pg::Connection source = pg::Connection::Open(ctx.config.source, {.role = "source"});
    assess::Assessment a = assess::Assess(source, options);
    if (ctx.global.json) {
      std::cout << assess::ToJson(a).dump(2) << "\n";
    } else {
      std::cout << assess::RenderText(a);
    }
    return a.AnyFail() ? kExitUsage : kExitOk;
  }

 private:
  ConnectionFlags conn_;
  AssessFlags flags_;
};

WALFERRY_REGISTER_COMMAND(AssessCommand);

}  // namespace
}  // namespace walferry::cli
