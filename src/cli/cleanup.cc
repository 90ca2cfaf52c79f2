// cli/cleanup.cc: `walferry cleanup` drops the configured sets' slots, publications and partition TRUNCATE
// triggers on the source (lifecycle/cleanup.h), lists what it dropped, and says what it left.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "control/control_schema.h"
#include "lifecycle/cleanup.h"

namespace walferry::cli {
namespace {

class CleanupCommand : public Command {
 public:
  std::string Name() const override { return "cleanup"; }
  std::string Description() const override {
    return "Drop walferry's replication slots, publications and triggers on the source (idempotent)";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_option("--set", set_, "Only this set (default: every configured set)");
    app.add_flag("--force", force_, "End a walsender that is reading a slot to drop (else cleanup refuses)");
    app.add_flag("--orphans", orphans_,
                 "Also drop the slots and publications this migration's control schema recorded that no configured "
                 "set owns (renamed or removed sets); never another migration's");
    app.add_flag("--fallback", fallback_,
                 "Also drop the way back of walferry cutover --fallback: its slot, publication and triggers on the "
                 "target (without it they are kept and reported)");
    app.add_flag("--control-schema", control_schema_,
                 "Also drop the control schema on the target (every set's state and history)");
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, control_schema_); }

  int Run(Context& ctx) override {
    lifecycle::CleanupOptions o;
    o.source = ctx.config.source;
    o.target = ctx.config.target;
    o.control_schema = ctx.config.control_schema;
    o.migration_id = ctx.config.migration_id;
    o.configured = config::SetNames(ctx.config);
    for (const auto& name : config::SetNames(ctx.config)) {
      if (set_.empty() || name == set_) o.sets.push_back(name);
    }
    if (!set_.empty() && o.sets.empty()) {
      throw Error(ErrorKind::kConfig, "--set " + set_ + ": no such set in the configuration");
    }
    for (const auto& name : o.sets) control::ValidateSetName(name);
    o.force = force_;
    o.orphans = orphans_;
    o.drop_control_schema = control_schema_;
    o.log_dropped = false;  // printed below, once
    // The fallback's slot on the target (walferry cutover --fallback) is the way back: it goes only when asked.
    if (fallback_ && ctx.config.target.empty()) {
      throw Error(ErrorKind::kConfig, "--fallback: the configuration has no target (the fallback's slot is there)");
    }
    o.fallback = fallback_;
    lifecycle::CleanupReport r = lifecycle::Cleanup(o);
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"dropped", r.dropped}, {"orphans_kept", r.orphans_kept},
                                  {"fallback_kept", r.fallback_kept}, {"foreign", r.foreign}}
                       .dump(2)
                << "\n";
      return kExitOk;
    }
    if (r.dropped.empty()) std::cout << "nothing to drop: the sets' slots and publications are gone already\n";
    for (const auto& d : r.dropped) std::cout << "dropped " << d << "\n";
    for (const auto& k : r.orphans_kept) {
      std::cout << "kept " << k << " (no configured set owns it; --orphans drops it)\n";
    }
    for (const auto& k : r.foreign) {
      std::cout << "left " << k << " (this migration never recorded it: another migration's, never dropped)\n";
    }
    for (const auto& k : r.fallback_kept) {
      std::cout << "kept " << k << " (the way back of cutover --fallback; cleanup --fallback or walferry fallback "
                                  "--end drops it)\n";
    }
    return kExitOk;
  }

 private:
  ConnectionFlags flags_;
  std::string set_;
  bool force_ = false;
  bool orphans_ = false;
  bool control_schema_ = false;
  bool fallback_ = false;
};

WALFERRY_REGISTER_COMMAND(CleanupCommand);

}  // namespace
}  // namespace walferry::cli
