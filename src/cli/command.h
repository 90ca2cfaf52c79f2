// cli/command.h
//
// The subcommand registry. Each file in src/cli/ defines one Command and registers it with
// WALFERRY_REGISTER_COMMAND; main.cc builds the CLI11 app from the registry, loads configuration and runs the
// chosen command. Adding a subcommand is adding one file here plus the module it drives.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace walferry::cli {

struct GlobalOptions {
  std::string config_path;  // -c; also WALFERRY_CONFIG
  bool json = false;        // --json: machine-readable output on stdout
  std::string log_level;    // empty: from config, else info
  std::string log_format;   // empty: from config, else text
};

struct Context {
  GlobalOptions global;
  config::Config config;  // the file (if any) with environment and flags applied
};

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string Name() const = 0;
  virtual std::string Description() const = 0;
  // Declares the command's flags on its subcommand app.
  virtual void Setup(CLI::App& app) = 0;
  // Applies flags over ctx.config (called after the config file and environment were applied).
  virtual void ApplyFlags(Context& ctx) { (void)ctx; }
  // Returns the exit code; throws walferry::Error on failure.
  virtual int Run(Context& ctx) = 0;
};

using CommandFactory = std::function<std::unique_ptr<Command>()>;
bool RegisterCommand(CommandFactory factory);
std::vector<std::unique_ptr<Command>> CreateAllCommands();

#define WALFERRY_REGISTER_COMMAND(Class) \
  [[maybe_unused]] static const bool kRegistered##Class = ::walferry::cli::RegisterCommand([] { return std::make_unique<Class>(); })

// A size flag's value ("10GB", "512MB", "0") in bytes; Error(kUsage) naming `flag` when it is not a size.
int64_t ParseSizeFlag(const std::string& text, const std::string& flag);

// Help of --split-tables-larger-than, shared by `load` and `migrate`.
inline constexpr const char* kSplitTablesHelp =
    "Copy tables larger than SIZE (e.g. 10GB, 512MB) in ctid ranges of about SIZE, in parallel "
    "(default: load.split_tables_larger_than; 0: never)";

// --source / --target flags shared by the commands that connect.
struct ConnectionFlags {
  std::string source;
  std::string target;
  void Add(CLI::App& app, bool want_source, bool want_target);
  // Flags win over environment and file; then checks that what the command needs is present.
  void Apply(Context& ctx, bool need_source, bool need_target) const;
};

}  // namespace walferry::cli
