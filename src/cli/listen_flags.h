// cli/listen_flags.h: --listen, --token-file and --serve-interval, shared by `walferry serve` (always serving) and
// `walferry cdc` / `walferry migrate` (serving only with --listen). Start() binds before the command's work begins,
// so a bad address, a port in use or an unreadable token file ends the command with exit 2 before it changes
// anything.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "config/config.h"
#include "serve/server.h"

namespace walferry::cli {

struct ListenFlags {
  std::string listen;
  std::string token_file;
  double interval = 5;

  // `always`: serve's --listen has a default; otherwise --listen turns serving on.
  void Add(CLI::App& app, bool always) {
    if (always) listen = serve::kDefaultListen;
    app.add_option("--listen", listen,
                   always ? "HOST:PORT to serve the status page, /metrics and /api/status on (default 127.0.0.1:9187)"
                          : "Also serve the status page, /metrics and /api/status on HOST:PORT (as walferry serve)");
    app.add_option("--token-file", token_file,
                   "Require `Authorization: Bearer <token>` for /metrics and /api/*; the token is this file's content");
    app.add_option("--serve-interval", interval, "Seconds between the served chart's readings (default 5)")
        ->check(CLI::Range(0.2, 3600.0));
  }

  // The server, or nullptr when not asked for. Error(kUsage) (exit 2) for bad flags or an address it cannot bind.
  std::unique_ptr<serve::Server> Start(const config::Config& config) const {
    if (listen.empty()) {
      if (!token_file.empty()) throw walferry::Error(walferry::ErrorKind::kUsage, "--token-file needs --listen");
      return nullptr;
    }
    serve::ServerOptions options{.listen = listen, .interval_seconds = interval};
    if (!token_file.empty()) options.token = serve::ReadTokenFile(token_file);
    return serve::Server::Start(config, options);
  }
};

}  // namespace walferry::cli
