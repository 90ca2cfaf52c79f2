// cli/main.cc
//
// walferry's entry point: builds the command line from the registered subcommands, applies configuration
// (file < environment < flags), runs the chosen command and maps errors to exit codes:
//   0 success, 1 runtime failure, 2 usage or configuration error (also: a server not set up as required),
//   130 interrupted (Ctrl-C / SIGTERM) before the work was finished.
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "common/error.h"
#include "common/log.h"
#include "pg/conninfo.h"

namespace {

constexpr const char* kFooter =
    "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error, 130 interrupted.\n"
    "Configuration precedence: flags > environment (WALFERRY_SOURCE, WALFERRY_TARGET, WALFERRY_CONFIG) > "
    "walferry.yaml (-c).\n"
    "Documentation: docs/cli.md, docs/config.md.";

walferry::log::Format ParseLogFormat(const std::string& s) {
  if (s == "text") return walferry::log::Format::kText;
  if (s == "json") return walferry::log::Format::kJson;
  throw walferry::Error(walferry::ErrorKind::kConfig, "unknown log format '" + s + "'")
      .WithHint("use --log-format text or --log-format json");
}

void PrepareContext(walferry::cli::Context& ctx, walferry::cli::Command& cmd) {
  using namespace walferry;
  if (ctx.global.config_path.empty()) {
    if (const char* env = std::getenv("WALFERRY_CONFIG")) ctx.global.config_path = env;
  }
  if (!ctx.global.config_path.empty()) ctx.config = config::Load(ctx.global.config_path);
  config::ApplyEnvironment(ctx.config);
  if (!ctx.global.log_level.empty()) ctx.config.log_level = ctx.global.log_level;
  if (!ctx.global.log_format.empty()) ctx.config.log_format = ctx.global.log_format;
  log::Init(ctx.config.log_level, ParseLogFormat(ctx.config.log_format));
  cmd.ApplyFlags(ctx);
}

// A password given with --source/--target stays in this process's argv, which `ps` and /proc/<pid>/cmdline show
// to every user of the machine: once parsed (CLI11 keeps copies), each secret is overwritten in place.
void ScrubArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string masked = walferry::pg::MaskSecretsSameLength(argv[i]);
    if (masked.size() == std::strlen(argv[i]) && masked != argv[i]) std::memcpy(argv[i], masked.data(), masked.size());
  }
}

// Test hook WALFERRY_HEAP_PEAK_FILE=path (the memory bound of tests/integration/validate_test.cc): in an
// AddressSanitizer build, the bytes the program holds allocated (malloc/new less free/delete, counted through the
// sanitizer's allocator hooks from main on) are followed, and their peak is written to path at exit. Memory the
// allocator keeps after a free (ASan's quarantine, its caches, shadow) is not counted; the process's RSS would
// count it. Without AddressSanitizer nothing is written (the RSS means what it says there).
#if defined(__SANITIZE_ADDRESS__)
#define WALFERRY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WALFERRY_ASAN 1
#endif
#endif
#ifdef WALFERRY_ASAN
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
extern "C" size_t __sanitizer_get_allocated_size(const void* p);
std::atomic<int64_t> heap_live{0};
std::atomic<int64_t> heap_peak{0};
void OnMalloc(const volatile void*, size_t size) {
  int64_t now = heap_live.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed) + static_cast<int64_t>(size);
  int64_t peak = heap_peak.load(std::memory_order_relaxed);
  while (now > peak && !heap_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
void OnFree(const volatile void* p) {
  heap_live.fetch_sub(static_cast<int64_t>(__sanitizer_get_allocated_size(const_cast<const void*>(p))),
                      std::memory_order_relaxed);
}
void FollowHeapPeakForTests() {
  static const char* path = std::getenv("WALFERRY_HEAP_PEAK_FILE");
  if (path == nullptr) return;
  __sanitizer_install_malloc_and_free_hooks(OnMalloc, OnFree);
  std::atexit([] { std::ofstream(path) << heap_peak.load() << "\n"; });
}
#else
void FollowHeapPeakForTests() {}
#endif

}  // namespace

int main(int argc, char** argv) {
  using namespace walferry;
  signal(SIGPIPE, SIG_IGN);
  // No core files: a core of walferry holds every connection's password and rows of the data it carries.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  FollowHeapPeakForTests();

  CLI::App app{"walferry: move a live PostgreSQL database to another PostgreSQL server, with proof nothing was lost."};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("walferry ") + WALFERRY_VERSION);
  cli::Context ctx;
  app.add_option("-c,--config", ctx.global.config_path, "walferry.yaml configuration file (env WALFERRY_CONFIG)");
  app.add_flag("--json", ctx.global.json, "Print machine-readable JSON on stdout");
  app.add_option("--log-level", ctx.global.log_level, "trace|debug|info|warn|error|off (default info)");
  app.add_option("--log-format", ctx.global.log_format, "text|json (JSON lines on stderr)");

  auto commands = cli::CreateAllCommands();
  std::vector<std::pair<CLI::App*, cli::Command*>> subs;
  for (auto& cmd : commands) {
    CLI::App* sub = app.add_subcommand(cmd->Name(), cmd->Description());
    sub->fallthrough();
    sub->footer(kFooter);
    cmd->Setup(*sub);
    subs.emplace_back(sub, cmd.get());
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  ScrubArguments(argc, argv);

  for (auto& [sub, cmd] : subs) {
    if (!sub->parsed()) continue;
    try {
      PrepareContext(ctx, *cmd);
      return cmd->Run(ctx);
    } catch (const Error& e) {
      // Ctrl-C / SIGTERM is not a failure: what was left, and how to go on, is in the message.
      std::cerr << "walferry " << cmd->Name() << (e.kind() == ErrorKind::kCancelled ? ": stopped: " : ": error: ")
                << e.what() << "\n";
      return ExitCodeFor(e);
    } catch (const std::exception& e) {
      std::cerr << "walferry " << cmd->Name() << ": internal error: " << e.what() << "\n";
      return kExitFailure;
    }
  }
  return kExitUsage;
}
