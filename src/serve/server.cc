// serve/server.cc: the HTTP server (server.h) over cpp-httplib.
#include "serve/server.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "serve/metrics.h"
#include "serve/monitor.h"
#include "serve/page.h"

namespace walferry::serve {
namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr double kFreshSeconds = 1.0;  // a reading this recent answers a request without another one

// Binds a socket to host:port once, the way the server will, to say why it cannot (errno), then closes it.
void CheckBindable(const std::string& host, int port, const std::string& listen) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    throw Error(ErrorKind::kUsage, "--listen " + listen + ": cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  std::string why = "no address";
  bool ok = false;
  for (addrinfo* a = found; a && !ok; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else {
      why = std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (!ok) {
    throw Error(ErrorKind::kUsage, "--listen " + listen + ": cannot listen on " + host + " port " +
                                       std::to_string(port) + ": " + why +
                                       " (another process uses the port, or this host has no such address)");
  }
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "text/plain; charset=utf-8";
}

nlohmann::json Opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
nlohmann::json Opt(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

// /api/overview: the status document and what the page shows besides.
nlohmann::json Overview(const Sample& s) {
  nlohmann::json derived = nlohmann::json::object();
  for (const auto& [name, d] : s.sets) {
    derived[name] = {{"lag_bytes", Opt(d.lag_bytes)}, {"lag_seconds", Opt(d.lag_seconds)},
                     {"apply_rate_bytes", Opt(d.apply_rate_bytes)}, {"source_rate_bytes", Opt(d.source_rate_bytes)},
                     {"eta_seconds", Opt(d.eta_seconds)}};
  }
  nlohmann::json load = nlohmann::json::array();
  for (const TableLoad& t : s.obs.tables) {
    auto eta = s.table_eta.find(t.set + "\t" + t.table);
    load.push_back({{"set", t.set}, {"table", t.table}, {"state", t.state}, {"rows_copied", t.rows_copied},
                    {"bytes_copied", t.bytes_copied}, {"rows_estimated", Opt(t.rows_estimated)},
                    {"size_bytes", Opt(t.size_bytes)}, {"parts", t.parts}, {"parts_copied", t.parts_copied},
                    {"eta_seconds", eta == s.table_eta.end() ? nlohmann::json() : Opt(eta->second)}});
  }
  nlohmann::json sets = nlohmann::json::object();
  for (const auto& [name, state] : s.obs.load_state) {
    auto v = s.obs.validation_differences.find(name);
    auto c = s.obs.counters.find(name);
    sets[name] = {{"load_state", state},
                  {"validation_differences", v == s.obs.validation_differences.end() ? 0 : v->second},
                  {"task_status", c == s.obs.counters.end() ? nlohmann::json() : nlohmann::json(c->second.task_status)}};
  }
  return {{"time", s.obs.time},
          {"status", s.obs.status},
          {"sets", sets},
          {"derived", derived},
          {"load", load},
          {"exceptions", s.obs.exceptions},
          {"cutover", {{"step", s.obs.cutover_step ? nlohmann::json(*s.obs.cutover_step) : nlohmann::json()},
                       {"downtime_seconds", Opt(s.obs.cutover_downtime_seconds)}}}};
}

class HttpServer : public Server {
 public:
  HttpServer(const config::Config& config, const ServerOptions& options)
      : options_(options), monitor_(config, MonitorOptions{}) {}

  ~HttpServer() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    http_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    if (sampler_.joinable()) sampler_.join();
  }

  void Bind() {
    auto [host, port] = ParseListen(options_.listen);
    if (port != 0) CheckBindable(host, port, options_.listen);
    Routes();
    int bound = port;
    if (port == 0) {
      bound = http_.bind_to_any_port(host);
    } else if (!http_.bind_to_port(host, port)) {
      bound = -1;
    }
    if (bound <= 0) {
      throw Error(ErrorKind::kUsage, "--listen " + options_.listen + ": cannot listen on " + host + " port " +
                                         std::to_string(port));
    }
    address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(bound);
    http_thread_ = std::thread([this] { http_.listen_after_bind(); });
    sampler_ = std::thread([this] { SampleLoop(); });
    log::For("serve")->info("serving the status page, /metrics and /api/status on http://{}/{}", address_,
                            options_.token.empty() ? "" : " (bearer token required)");
  }

  std::string address() const override { return address_; }

 private:
  void Routes() {
    http_.Get("/", [](const httplib::Request&, httplib::Response& res) { Asset(res, "index.html"); });
    http_.Get(R"(/assets/([A-Za-z0-9_.-]+))",
              [](const httplib::Request& req, httplib::Response& res) { Asset(res, req.matches[1].str()); });
    http_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authorized(req, res)) return;
      try {
        res.set_content(MetricsText(*monitor_.Current(kFreshSeconds)), kMetricsType);
      } catch (const Error& e) {
        Warn(e);
        res.set_content(MetricsDownText(), kMetricsType);
      }
    });
    Json("/api/status", [this] { return monitor_.Current(kFreshSeconds)->obs.status; });
    Json("/api/overview", [this] { return Overview(*monitor_.Current(kFreshSeconds)); });
    Json("/api/history", [this] { return monitor_.HistoryJson(); });
  }

  void Json(const std::string& path, std::function<nlohmann::json()> body) {
    http_.Get(path, [this, body](const httplib::Request& req, httplib::Response& res) {
      if (!Authorized(req, res)) return;
      try {
        res.set_content(body().dump(2) + "\n", "application/json");
      } catch (const Error& e) {
        Warn(e);
        res.status = 503;
        res.set_content(nlohmann::json({{"error", e.what()}}).dump() + "\n", "application/json");
      }
    });
  }

  static void Asset(httplib::Response& res, const std::string& name) {
    std::optional<std::string_view> body = PageAsset(name);
    if (!body) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return;
    }
    res.set_content(std::string(*body), ContentType(name));
    res.set_header("Cache-Control", "no-cache");
  }

  bool Authorized(const httplib::Request& req, httplib::Response& res) const {
    if (options_.token.empty()) return true;
    if (ConstantTimeEquals(req.get_header_value("Authorization"), "Bearer " + options_.token)) return true;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer realm=\"walferry\"");
    res.set_content("{\"error\": \"a bearer token is required (Authorization: Bearer ...)\"}\n", "application/json");
    return false;
  }

  void Warn(const Error& e) {
    log::For("serve")->warn("cannot read the status: {}", e.what());
  }

  // Takes a reading every interval, so the chart's history fills without requests.
  void SampleLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      try {
        monitor_.Refresh();
      } catch (const Error& e) {
        Warn(e);
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::duration<double>(options_.interval_seconds), [this] { return stopping_; });
    }
  }

  const ServerOptions options_;
  Monitor monitor_;
  httplib::Server http_;
  std::string address_;
  std::thread http_thread_;
  std::thread sampler_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace

std::string ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error(ErrorKind::kUsage, "--token-file " + path + ": cannot read it: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  if (in.bad()) throw Error(ErrorKind::kUsage, "--token-file " + path + ": cannot read it: " + std::strerror(errno));
  size_t a = token.find_first_not_of(" \t\r\n");
  size_t b = token.find_last_not_of(" \t\r\n");
  if (a == std::string::npos) throw Error(ErrorKind::kUsage, "--token-file " + path + " is empty");
  return token.substr(a, b - a + 1);
}

std::pair<std::string, int> ParseListen(const std::string& listen) {
  auto bad = [&] {
    return Error(ErrorKind::kUsage, "--listen '" + listen + "': expected HOST:PORT, e.g. 127.0.0.1:9187 or [::1]:9187");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) throw bad();
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) throw bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw bad();  // an IPv6 address needs brackets
  }
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) throw bad();
  int port = std::stoi(port_text);
  if (port > 65535) throw bad();
  return {host, port};
}

std::unique_ptr<Server> Server::Start(const config::Config& config, const ServerOptions& options) {
  auto server = std::make_unique<HttpServer>(config, options);
  server->Bind();
  return server;
}

}  // namespace walferry::serve
