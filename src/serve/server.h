// serve/server.h
//
// `walferry serve`'s HTTP server (also started by `walferry cdc --listen` and `walferry migrate --listen`):
//   /             the status page (serve/page.h), static: it holds no data and needs no token
//   /metrics      the Prometheus text format (serve/metrics.h)
//   /api/status   the status document, the same JSON as `walferry status --json` (serve/status_json.h)
//   /api/overview the status document with what the page adds (lag, ETA, load progress, exceptions, cutover)
//   /api/history  the last hour of lag and throughput, for the page's chart
// Everything is read from the control schema and the source (serve/monitor.h), never from the process that runs
// the server, so a serve on another host shows the same as one inside `walferry cdc`. Every answer but the page
// requires `Authorization: Bearer <token>` when a token is set (401 otherwise). Nothing served holds a conninfo or
// a password. Binds to loopback unless told otherwise (the caller's `listen`).
// Lifetime: Start() binds and starts two threads (HTTP, and a sampler that reads every `interval_seconds` for the
// chart); the destructor stops and joins both. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"

namespace walferry::serve {

struct ServerOptions {
  std::string listen = "127.0.0.1:9187";  // HOST:PORT, [IPv6]:PORT; port 0 picks a free port
  std::string token;                      // empty: no authentication
  double interval_seconds = 5;            // the sampler's period
};

inline constexpr const char* kDefaultListen = "127.0.0.1:9187";

// Reads the bearer token from `path` (surrounding whitespace removed). Error(kUsage) naming the file when it cannot
// be read or is empty.
std::string ReadTokenFile(const std::string& path);

// HOST and PORT of `listen`. Error(kUsage) when it is not HOST:PORT with a port in 0..65535.
std::pair<std::string, int> ParseListen(const std::string& listen);

class Server {
 public:
  // Binds and starts serving. Error(kUsage) for an address that does not resolve, a port in use or an address
  // this host does not have (each said plainly, with the address).
  static std::unique_ptr<Server> Start(const config::Config& config, const ServerOptions& options);
  virtual ~Server() = default;
  // The bound address, "HOST:PORT" (the real port when 0 was asked for).
  virtual std::string address() const = 0;
};

}  // namespace walferry::serve
