#include "cli/command.h"

#include "common/error.h"
#include "config/size.h"

namespace walferry::cli {

namespace {
std::vector<CommandFactory>& Registry() {
  static std::vector<CommandFactory> registry;
  return registry;
}
}  // namespace

bool RegisterCommand(CommandFactory factory) {
  Registry().push_back(std::move(factory));
  return true;
}

std::vector<std::unique_ptr<Command>> CreateAllCommands() {
  std::vector<std::unique_ptr<Command>> out;
  for (const auto& f : Registry()) out.push_back(f());
  return out;
}

int64_t ParseSizeFlag(const std::string& text, const std::string& flag) {
  std::string why;
  std::optional<int64_t> bytes = config::ParseSize(text, &why);
  if (!bytes) throw Error(ErrorKind::kUsage, flag + " " + why);
  return *bytes;
}

void ConnectionFlags::Add(CLI::App& app, bool want_source, bool want_target) {
  if (want_source) {
    app.add_option("--source", source,
                   "Source database: URI or key=value conninfo (env WALFERRY_SOURCE; config 'source')");
  }
  if (want_target) {
    app.add_option("--target", target,
                   "Target database: URI or key=value conninfo (env WALFERRY_TARGET; config 'target')");
  }
}

void ConnectionFlags::Apply(Context& ctx, bool need_source, bool need_target) const {
  if (!source.empty()) ctx.config.source = source;
  if (!target.empty()) ctx.config.target = target;
  if (need_source && ctx.config.source.empty()) {
    throw Error(ErrorKind::kConfig, "no source database given")
        .WithHint("pass --source URI, set WALFERRY_SOURCE, or put 'source:' in walferry.yaml (-c)");
  }
  if (need_target && ctx.config.target.empty()) {
    throw Error(ErrorKind::kConfig, "no target database given")
        .WithHint("pass --target URI, set WALFERRY_TARGET, or put 'target:' in walferry.yaml (-c)");
  }
}

}  // namespace walferry::cli
