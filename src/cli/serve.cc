// cli/serve.cc: `walferry serve` serves the status page, /metrics (Prometheus) and /api/status (the JSON of
// `walferry status --json`) until Ctrl-C / SIGTERM (serve/server.h). It reads the control schema and the source's
// slots only, so it may run anywhere that reaches both servers, beside load, cdc or migrate in other processes.
// Exit 0 on Ctrl-C; exit 2 for a bad address, a port in use or an unreadable token file.
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/listen_flags.h"
#include "common/cancel.h"
#include "common/error.h"

namespace walferry::cli {
namespace {

class ServeCommand : public Command {
 public:
  std::string Name() const override { return "serve"; }
  std::string Description() const override {
    return "Serve a live status page, Prometheus /metrics and /api/status over HTTP (until Ctrl-C)";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    listen_.Add(app, true);
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    InstallCancelHandlers();
    std::unique_ptr<serve::Server> server = listen_.Start(ctx.config);
    // The address on stdout (the log goes to stderr): scripts that asked for port 0 read it from here.
    std::cout << "http://" << server->address() << "/\n" << std::flush;
    while (!CancelRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return kExitOk;
  }

 private:
  ConnectionFlags flags_;
  ListenFlags listen_;
};

WALFERRY_REGISTER_COMMAND(ServeCommand);

}  // namespace
}  // namespace walferry::cli
