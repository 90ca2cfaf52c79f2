// walferry serve and --listen: /metrics (checked by promtool), /api/status (the JSON of `walferry status --json`),
// the status page (opened by headless Chromium, its DOM checked, a screenshot kept), the alert rules (promtool),
// the states a migration goes through (a load, a CDC run beside a writer, a cutover, a FAILED set) and bad input.
// Each test ends, where data moved, with source equal to target.
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cdc_support.h"
#include "config/config.h"
#include "serve/observation.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using test::PollUntil;

struct Http {
  int status = 0;
  std::string body;
};

Http Get(const std::string& address, const std::string& path, const std::string& token = "") {
  httplib::Client client("http://" + address);
  client.set_read_timeout(60, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = client.Get(path.c_str(), headers);
  if (!res) return {};
  return {res->status, res->body};
}

// A walferry process that serves (serve, or cdc/migrate with --listen on port 0): its pid, log and address.
struct Served {
  pid_t pid = -1;
  std::string log;
  std::string address;

  static Served Spawn(std::vector<std::string> args, const std::string& name) {
    Served s;
    s.log = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/serve-" + name + ".log";
    std::remove(s.log.c_str());
    s.pid = test::SpawnWalferry(args, false, s.log);
    std::regex addr(R"(http://(127\.0\.0\.1:[0-9]+)/)");
    EXPECT_TRUE(PollUntil([&] {
      std::smatch m;
      std::string text = test::ReadWholeFile(s.log);
      if (!std::regex_search(text, m, addr)) return false;
      s.address = m[1];
      return true;
    }, std::chrono::seconds(60))) << test::ReadWholeFile(s.log);
    return s;
  }
  Served() = default;
  Served(Served&& o) noexcept : pid(std::exchange(o.pid, -1)), log(std::move(o.log)), address(std::move(o.address)) {}
  Served& operator=(Served&&) = delete;
  int Stop() {
    if (pid <= 0) return -1;
    auto status = test::SignalAndWait(pid, SIGTERM, std::chrono::seconds(120));
    pid = -1;
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  ~Served() { Stop(); }
};

Served Serve(const std::string& config, const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"-c", config, "serve", "--listen", "127.0.0.1:0", "--serve-interval", "0.5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Served::Spawn(args, name);
}

// The value of the series `name` whose labels include every `labels` pair ("set=\"a\""), nullopt when absent.
std::optional<double> Metric(const std::string& text, const std::string& name, std::vector<std::string> labels = {}) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    size_t after = name.size();
    if (after >= line.size() || (line[after] != '{' && line[after] != ' ')) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (!all) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/" + name;
}

// Runs a shell command; returns its exit code and output.
test::CliResult Shell(const std::string& command) {
  std::string out = Tmp("serve-shell.out");
  int rc = std::system((command + " >" + out + " 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, test::ReadWholeFile(out)};
}

// promtool's lint of an exposition: exit 0 and no complaint.
void ExpectPromtoolAccepts(const std::string& metrics) {
  std::string file = Tmp("serve-metrics.txt");
  std::ofstream(file) << metrics;
  test::CliResult r = Shell("promtool check metrics < " + file);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << metrics;
}

// The page as headless Chromium renders it after its scripts ran (the DOM, serialized); with `screenshot`, also a
// PNG of it there.
std::string PageDom(const std::string& address, const std::string& screenshot = "") {
  std::string common = "chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                       "--user-data-dir=" + Tmp("serve-chromium") + " --window-size=1280,1000 "
                       "--virtual-time-budget=4000 ";
  if (!screenshot.empty()) {
    test::CliResult shot = Shell(common + "--screenshot=" + screenshot + " http://" + address + "/");
    EXPECT_EQ(shot.exit_code, 0) << shot.output;
  }
  std::string out = Tmp("serve-dom.html");
  int rc = std::system((common + "--dump-dom http://" + address + "/ >" + out + " 2>/dev/null").c_str());
  EXPECT_EQ(rc, 0);
  return test::ReadWholeFile(out);
}

// The state shown on the page's row of `set` (its data-state), "" when the page lists no such set.
std::string PageState(const std::string& dom, const std::string& set) {
  std::regex row("<tr data-set=\"" + set + "\"[^>]*>.*?data-state=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(dom, m, row) ? std::string(m[1]) : "";
}

int ChartPoints(const std::string& dom, const std::string& id) {
  std::regex svg("<svg id=\"" + id + "\"[^>]*data-points=\"([0-9]+)\"");
  std::smatch m;
  return std::regex_search(dom, m, svg) ? std::stoi(m[1]) : -1;
}

// The fields of a status document that stay put while nothing is written (no times, rates or WAL sizes).
nlohmann::json Stable(nlohmann::json sets) {
  for (auto& s : sets) {
    for (const char* k : {"status_time", "latency_seconds", "rows_per_second", "slot_retained_wal_bytes",
                          "slot_safe_wal_bytes"}) {
      s.erase(k);
    }
  }
  return sets;
}

// A writer of single-row transactions into t until stopped.
class Writer {
 public:
  explicit Writer(const std::string& db) : thread_([this, db] {
      pg::Connection c = test::ConnectSource(db);
      while (!stop_) {
        c.Exec("INSERT INTO t (v) VALUES (md5(random()::text))");
        ++written_;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }) {}
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int written() const { return written_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> written_{0};
  std::thread thread_;
};

const char* kTable = "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)";

// A walferry.yaml with one set "cut" of public.t, for `walferry load` to load.
std::string WriteConfigFor(const std::string& db) {
  std::string path = "/tmp/walferry-" + db + ".yaml";
  std::ofstream(path) << "version: 1\nsource: \"" << test::Source().Uri(db) << "\"\ntarget: \"" << test::Target().Uri(db)
                      << "\"\nsets:\n  - name: cut\n    tables:\n      - name: public.t\n";
  return path;
}

// cdc --listen beside a writer: the counters move between two scrapes, the lag gauge is sane, promtool accepts the
// exposition, every metric the alerts and the dashboard use is exported, /api/status is `status --json`, and the
// page (headless Chromium) lists the set with its state and draws its chart.
TEST(Serve, CdcListenBesideAWriterServesMetricsStatusAndThePage) {
  CdcFixture f = CdcFixture::Create("live", kTable, {"public.t"});
  // A password in the conninfo (the test clusters trust their users, so it is only carried): never served.
  const std::string secret = "W4lferrySecret";
  {
    std::string yaml = test::ReadWholeFile(f.config_path);
    for (size_t at; (at = yaml.find("postgres@127")) != std::string::npos;) {
      yaml.replace(at, 9, "postgres:" + secret + "@");
    }
    std::ofstream(f.config_path) << yaml;
  }
  Writer writer(f.db);
  Served cdc = Served::Spawn({"-c", f.config_path, "cdc", "--listen", "127.0.0.1:0", "--serve-interval", "0.5"},
                             "cdc-live");
  ASSERT_FALSE(cdc.address.empty());
  std::string first;
  ASSERT_TRUE(PollUntil([&] {
    first = Get(cdc.address, "/metrics").body;
    return Metric(first, "walferry_changes_applied_total", {"set=\"live\""}).value_or(0) > 0;
  })) << first << test::ReadWholeFile(cdc.log);
  std::string second;
  ASSERT_TRUE(PollUntil([&] {
    second = Get(cdc.address, "/metrics").body;
    return Metric(second, "walferry_changes_applied_total", {"set=\"live\""}) >
           Metric(first, "walferry_changes_applied_total", {"set=\"live\""});
  })) << second;
  EXPECT_GT(Metric(second, "walferry_transactions_applied_total", {"set=\"live\""}),
            Metric(first, "walferry_transactions_applied_total", {"set=\"live\""}));
  EXPECT_GT(Metric(second, "walferry_set_applied_lsn_bytes", {"set=\"live\""}),
            Metric(first, "walferry_set_applied_lsn_bytes", {"set=\"live\""}));
  EXPECT_EQ(Metric(second, "walferry_up"), 1);
  EXPECT_EQ(Metric(second, "walferry_set_running", {"set=\"live\""}), 1);
  EXPECT_EQ(Metric(second, "walferry_slot_active", {"set=\"live\""}), 1);
  EXPECT_EQ(Metric(second, "walferry_set_state", {"set=\"live\"", "state=\"failed\""}), 0);
  double processing = Metric(second, "walferry_set_state", {"set=\"live\"", "state=\"change_processing\""}).value_or(0) +
                      Metric(second, "walferry_set_state", {"set=\"live\"", "state=\"caught_up\""}).value_or(0);
  EXPECT_EQ(processing, 1) << second;
  // Lag: bytes from the source's WAL position to the target's, never negative, never more than the WAL the source
  // wrote since the slot was made; seconds not negative.
  std::optional<double> lag = Metric(second, "walferry_set_lag_bytes", {"set=\"live\""});
  std::optional<double> wal = Metric(second, "walferry_source_wal_lsn_bytes");
  std::optional<double> applied = Metric(second, "walferry_set_applied_lsn_bytes", {"set=\"live\""});
  ASSERT_TRUE(lag && wal && applied) << second;
  EXPECT_GE(*lag, 0);
  EXPECT_LE(*lag, *wal - *applied) << "the target's position is at least its checkpoint";
  EXPECT_GE(Metric(second, "walferry_set_lag_seconds", {"set=\"live\""}).value_or(0), 0);
  EXPECT_EQ(Metric(second, "walferry_slot_wal_status", {"set=\"live\"", "wal_status=\"reserved\""}), 1);
  ExpectPromtoolAccepts(second);
  // Every walferry_ metric the alert rules and the dashboard query is one the exposition has, but for those of
  // other states, which the tests of those states find (a series only exists while it has a value).
  const std::set<std::string> elsewhere = {"walferry_cutover_step", "walferry_cutover_downtime_seconds",
                                           "walferry_load_table_copied_rows", "walferry_load_table_rows",
                                           "walferry_load_table_eta_seconds", "walferry_slot_safe_wal_ratio"};
  for (const char* file : {"contrib/prometheus/alerts.yml", "contrib/grafana/walferry.json"}) {
    std::string text = test::ReadWholeFile(std::string(WALFERRY_SOURCE_DIR) + "/" + file);
    ASSERT_FALSE(text.empty()) << file;
    std::regex name(R"(walferry_[a-z_]+)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it) {
      std::string n = it->str();
      if (elsewhere.contains(n)) continue;
      if (n == "walferry_set_eta_seconds") continue;  // checked below, once caught up
      EXPECT_NE(second.find("# TYPE " + n + " "), std::string::npos) << file << " uses " << n;
    }
  }
  // The page: the set with its state, the chart with points; a screenshot as the test's artifact.
  std::string shot = std::string(std::getenv("WALFERRY_ARTIFACT_DIR") ? std::getenv("WALFERRY_ARTIFACT_DIR") : ".") +
                     "/serve_test_status_page.png";
  std::string dom = PageDom(cdc.address, shot);
  EXPECT_NE(PageState(dom, "live").find("C"), std::string::npos) << dom;  // CHANGE PROCESSING or CAUGHT UP
  EXPECT_GT(ChartPoints(dom, "lag-chart"), 0) << dom;
  EXPECT_GT(ChartPoints(dom, "rate-chart"), 0) << dom;
  std::ifstream png(shot, std::ios::binary);
  char magic[4] = {};
  png.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG") << shot;
  // Writer stopped and caught up: /api/status and `status --json` say the same.
  writer.Stop();
  pg::Connection target = test::ConnectTarget(f.db);
  ASSERT_TRUE(PollUntil([&] { return test::Count(target, "SELECT count(*) FROM t") == writer.written(); }))
      << "CDC applies every row";
  ASSERT_TRUE(PollUntil([&] {
    Http api = Get(cdc.address, "/api/status");
    test::CliResult st = test::RunWalferry({"-c", f.config_path, "--json", "status"});
    if (api.status != 200 || st.exit_code != 0) return false;
    return Stable(nlohmann::json::parse(api.body)) == Stable(nlohmann::json::parse(st.output));
  })) << Get(cdc.address, "/api/status").body << test::RunWalferry({"-c", f.config_path, "--json", "status"}).output;
  Http api = Get(cdc.address, "/api/status");
  nlohmann::json doc = nlohmann::json::parse(api.body);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["set"], "live");
  EXPECT_EQ(doc[0]["running"], true);
  // No secret anywhere: the clusters' conninfo (host, port, user) never appears in what is served.
  // Caught up: the ETA is 0.
  std::string third = Get(cdc.address, "/metrics").body;
  EXPECT_EQ(Metric(third, "walferry_set_eta_seconds", {"set=\"live\""}), 0) << third;
  for (const std::string& body : {second, third, api.body, Get(cdc.address, "/api/overview").body, dom}) {
    EXPECT_EQ(body.find(secret), std::string::npos) << body;
    EXPECT_EQ(body.find(test::Source().Uri(f.db)), std::string::npos);
  }
  EXPECT_EQ(cdc.Stop(), 0) << test::ReadWholeFile(cdc.log);
  f.ExpectEqual();
  f.DropSlot();
}

// promtool accepts the alert rules, and its unit tests of them (contrib/prometheus/alerts_test.yml) pass.
TEST(Serve, PromtoolAcceptsTheAlertRules) {
  std::string dir = std::string(WALFERRY_SOURCE_DIR) + "/contrib/prometheus";
  test::CliResult r = Shell("promtool check rules " + dir + "/alerts.yml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = Shell("cd " + dir + " && promtool test rules alerts_test.yml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json dashboard = nlohmann::json::parse(test::ReadWholeFile(std::string(WALFERRY_SOURCE_DIR) +
                                                                       "/contrib/grafana/walferry.json"));
  EXPECT_FALSE(dashboard["panels"].empty());
}

// A set whose CDC FAILED: the metrics say failed (not running), the page shows FAILED with its error.
TEST(Serve, AFailedSetIsShownFailed) {
  CdcFixture f = CdcFixture::Create("broken", "CREATE TABLE t (id int PRIMARY KEY, v int)", {"public.t"},
                                    "ALTER TABLE t ADD CONSTRAINT small CHECK (v < 100)");
  test::ConnectSource(f.db).Exec("INSERT INTO t VALUES (1, 1), (2, 200)");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 1) << r.output;
  Served s = Serve(f.config_path, "failed");
  std::string m = Get(s.address, "/metrics").body;
  EXPECT_EQ(Metric(m, "walferry_set_state", {"set=\"broken\"", "state=\"failed\""}), 1) << m;
  EXPECT_EQ(Metric(m, "walferry_set_state", {"set=\"broken\"", "state=\"change_processing\""}), 0) << m;
  EXPECT_EQ(Metric(m, "walferry_set_running", {"set=\"broken\""}), 0) << m;
  ExpectPromtoolAccepts(m);
  // With max_slot_wal_keep_size set, the safe-WAL ratio: the share of it still left before the slot is lost.
  test::Source().Psql(f.db, "ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'; SELECT pg_reload_conf()");
  std::optional<double> ratio;
  EXPECT_TRUE(PollUntil([&] {
    ratio = Metric(Get(s.address, "/metrics").body, "walferry_slot_safe_wal_ratio", {"set=\"broken\""});
    return ratio.has_value();
  }));
  test::Source().Psql(f.db, "ALTER SYSTEM RESET max_slot_wal_keep_size; SELECT pg_reload_conf()");
  EXPECT_GT(ratio.value_or(0), 0.5) << "the slot retains little WAL";
  EXPECT_LE(ratio.value_or(2), 1);
  nlohmann::json overview = nlohmann::json::parse(Get(s.address, "/api/overview").body);
  EXPECT_EQ(overview["status"][0]["state"], "FAILED");
  EXPECT_NE(overview["status"][0]["last_error"].get<std::string>().find("small"), std::string::npos);
  std::string dom = PageDom(s.address);
  EXPECT_EQ(PageState(dom, "broken"), "FAILED") << dom;
  EXPECT_NE(dom.find("class=\"state failed\""), std::string::npos) << dom;
  // The rejected change is listed with its statement.
  ASSERT_FALSE(overview["exceptions"].empty()) << overview.dump();
  EXPECT_EQ(overview["exceptions"][0]["table"], "public.t");
  EXPECT_NE(dom.find("<table id=\"exceptions\">"), std::string::npos) << dom;
  EXPECT_NE(dom.find(overview["exceptions"][0]["error"].get<std::string>().substr(0, 30)), std::string::npos) << dom;
  EXPECT_EQ(s.Stop(), 0);
  // Repaired: the row fits, CDC catches up, and the set reads caught up.
  test::ConnectTarget(f.db).Exec("ALTER TABLE t DROP CONSTRAINT small");
  f.CatchUpExpectEqualAndDropSlot();
}

// A socket bound to a free loopback port, held until destroyed: a port in use.
struct HeldPort {
  int fd = -1;
  int port = 0;
  HeldPort() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd, 1), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~HeldPort() { close(fd); }
};

// A port in use, an address this host does not have, a malformed address and an unreadable token file: exit 2
// with a message that says which and what, before anything is done (cdc --listen writes no status row).
TEST(Serve, BadInputExitsTwoSayingWhy) {
  CdcFixture f = CdcFixture::Create("badinput", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  HeldPort held;
  const std::string in_use = "127.0.0.1:" + std::to_string(held.port);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"serve", "--listen", in_use}, "cannot listen on 127.0.0.1 port " + std::to_string(held.port) + ": Address already in use"},
      {{"cdc", "--listen", in_use}, "Address already in use"},
      {{"migrate", "--listen", in_use}, "Address already in use"},
      {{"serve", "--listen", "192.0.2.1:9187"}, "cannot listen on 192.0.2.1 port 9187: Cannot assign requested address"},
      {{"serve", "--listen", "localhost"}, "--listen 'localhost': expected HOST:PORT"},
      {{"serve", "--listen", "127.0.0.1:99999"}, "expected HOST:PORT"},
      {{"serve", "--listen", "::1:9187"}, "expected HOST:PORT"},
      {{"serve", "--listen", "127.0.0.1:0", "--token-file", "/nonexistent/token"},
       "--token-file /nonexistent/token: cannot read it: No such file or directory"},
      {{"cdc", "--token-file", "/nonexistent/token"}, "--token-file needs --listen"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"-c", f.config_path};
    args.insert(args.end(), c.args.begin(), c.args.end());
    test::CliResult r = test::RunWalferry(args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[2] << ": " << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args[0] << " " << c.args[2] << ": " << r.output;
  }
  std::string empty = Tmp("serve-empty-token");
  std::ofstream(empty) << "  \n";
  test::CliResult r = test::RunWalferry({"-c", f.config_path, "serve", "--listen", "127.0.0.1:0", "--token-file", empty});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is empty"), std::string::npos) << r.output;
  EXPECT_EQ(test::Count(*std::make_unique<pg::Connection>(test::ConnectTarget(f.db)),
                        "SELECT count(*) FROM walferry.status"), 0)
      << "cdc --listen on a port in use started no worker";
  f.CatchUpExpectEqualAndDropSlot();
}

// --token-file: /metrics and /api/* answer 401 without `Authorization: Bearer <token>`, the static page does not
// need it (it asks for the token); with the token everything answers.
TEST(Serve, ATokenIsRequiredForDataButNotForThePage) {
  CdcFixture f = CdcFixture::Create("token", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  test::ConnectSource(f.db).Exec("INSERT INTO t VALUES (1)");
  ASSERT_EQ(f.Cdc().exit_code, 0);
  std::string file = Tmp("serve-token");
  std::ofstream(file) << "s3cret-token\n";
  Served s = Serve(f.config_path, "token", {"--token-file", file});
  for (const char* path : {"/metrics", "/api/status", "/api/overview", "/api/history"}) {
    Http no = Get(s.address, path);
    EXPECT_EQ(no.status, 401) << path;
    EXPECT_EQ(no.body.find("walferry_set"), std::string::npos) << path;
    EXPECT_EQ(Get(s.address, path, "wrong").status, 401) << path;
    EXPECT_EQ(Get(s.address, path, "s3cret-token").status, 200) << path;
  }
  Http page = Get(s.address, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("id=\"sets\""), std::string::npos);
  EXPECT_EQ(Get(s.address, "/assets/app.js").status, 200);
  EXPECT_EQ(Get(s.address, "/assets/nothing.js").status, 404);
  std::string dom = PageDom(s.address);
  EXPECT_NE(dom.find("a bearer token is required"), std::string::npos) << dom;
  EXPECT_EQ(s.Stop(), 0);
  f.ExpectEqual();
  f.DropSlot();
}

// During a load: the set reads loading, a copied table copied, the table still copying (its target table locked
// by the test, so the copy waits) with the source's row estimate; the page lists both with a progress bar. After
// the load: loaded, every table copied with its rows.
TEST(Serve, DuringALoadTheTablesProgressIsShown) {
  std::string db = test::FreshDatabase();
  const std::string ddl = "CREATE TABLE small (id int PRIMARY KEY); CREATE TABLE big (id int PRIMARY KEY, v text);";
  test::Source().Psql(db, ddl + "INSERT INTO small SELECT generate_series(1, 10);"
                                "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE;");
  test::Target().Psql(db, ddl);
  pg::Connection lock = test::ConnectTarget(db);
  lock.Exec("BEGIN");
  lock.Exec("LOCK TABLE big IN ACCESS EXCLUSIVE MODE");
  const std::string source = test::Source().Uri(db), target = test::Target().Uri(db);
  pid_t load = test::SpawnWalferry({"load", "--source", source, "--target", target, "--target-prep", "do-nothing",
                                    "--table-jobs", "2"}, false, Tmp("serve-load.log"));
  Served s = Served::Spawn({"serve", "--source", source, "--target", target, "--listen", "127.0.0.1:0",
                            "--serve-interval", "0.5"}, "load");
  std::string m;
  ASSERT_TRUE(PollUntil([&] {
    m = Get(s.address, "/metrics").body;
    return Metric(m, "walferry_load_table_copied", {"table=\"public.small\""}) == 1;
  })) << m << test::ReadWholeFile(Tmp("serve-load.log"));
  EXPECT_EQ(Metric(m, "walferry_set_load_state", {"set=\"default\"", "state=\"loading\""}), 1) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_copied", {"table=\"public.big\""}), 0) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_rows", {"table=\"public.big\""}), 20000) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_copied_rows", {"table=\"public.small\""}), 10) << m;
  EXPECT_TRUE(Metric(m, "walferry_load_table_source_size_bytes", {"table=\"public.big\""}).value_or(0) > 0) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_eta_seconds", {"table=\"public.small\""}), 0) << m;
  ExpectPromtoolAccepts(m);
  std::string dom = PageDom(s.address);
  EXPECT_EQ(PageState(dom, "default"), "load: loading") << dom;
  EXPECT_NE(dom.find("<tr data-table=\"public.big\" data-set=\"default\">"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<progress max=\"20000\" value=\"0\">"), std::string::npos) << dom;
  lock.Exec("COMMIT");
  int status = 0;
  waitpid(load, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::ReadWholeFile(Tmp("serve-load.log"));
  ASSERT_TRUE(PollUntil([&] {
    m = Get(s.address, "/metrics").body;
    return Metric(m, "walferry_set_load_state", {"set=\"default\"", "state=\"loaded\""}) == 1;
  })) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_copied", {"table=\"public.big\""}), 1) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_rows", {"table=\"public.big\""}), 20000) << m;
  EXPECT_EQ(Metric(m, "walferry_load_table_copied_rows", {"table=\"public.big\""}), 20000) << m;
  dom = PageDom(s.address);
  EXPECT_EQ(PageState(dom, "default"), "loaded, CDC not started") << dom;
  EXPECT_EQ(s.Stop(), 0);
  pg::Connection src = test::ConnectSource(db);
  pg::Connection tgt = test::ConnectTarget(db);
  for (const char* t : {"small", "big"}) EXPECT_EQ(test::DiffTable(src, tgt, t), "") << t;
  auto repl = pg::ReplicationConnection::Open(test::Source().Uri(db));
  repl.DropSlot("walferry_default", true);
}

// During a cutover (stopped after its caught_up step) the step is shown and the downtime counts; once done, the
// step is done and the downtime stays as it was. The serve runs from before the switch: the cutover, which waits
// for every session that connected before writes were stopped, must not wait for serve's.
TEST(Serve, DuringAndAfterACutoverTheStepAndDowntimeAreShown) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, std::string(kTable) + "; INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 100)");
  std::string config = WriteConfigFor(db);
  test::CliResult r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::ConnectSource(db).Exec("INSERT INTO t (v) SELECT 'y' FROM generate_series(1, 100)");
  ASSERT_EQ(test::RunWalferry({"-c", config, "cdc", "--until-caught-up"}).exit_code, 0);
  Served s = Serve(config, "cutover");
  ASSERT_TRUE(PollUntil([&] { return Get(s.address, "/api/status").status == 200; }));
  r = test::RunWalferry({"-c", config, "cutover", "--timeout", "30"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  ASSERT_EQ(test::Text(test::ConnectTarget(db), "SELECT step FROM walferry.cutover"), "caught_up") << r.output;
  std::string first;  // a reading may be up to a second old
  ASSERT_TRUE(PollUntil([&] {
    first = Get(s.address, "/metrics").body;
    return Metric(first, "walferry_cutover_step", {"step=\"caught_up\""}) == 1;
  })) << first;
  std::optional<double> downtime = Metric(first, "walferry_cutover_downtime_seconds");
  ASSERT_TRUE(downtime) << first;
  std::string later;
  ASSERT_TRUE(PollUntil([&] {
    later = Get(s.address, "/metrics").body;
    return Metric(later, "walferry_cutover_downtime_seconds") > downtime;
  })) << "the downtime counts while the switch is under way\n" << later;
  ExpectPromtoolAccepts(later);
  std::string dom = PageDom(s.address);
  EXPECT_NE(dom.find("cutover: caught_up"), std::string::npos) << dom;
  EXPECT_NE(PageState(dom, "cut"), "") << dom;
  r = test::RunWalferry({"-c", config, "cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string done;
  ASSERT_TRUE(PollUntil([&] {
    done = Get(s.address, "/metrics").body;
    return Metric(done, "walferry_cutover_step", {"step=\"done\""}) == 1;
  })) << done;
  std::optional<double> final_downtime = Metric(done, "walferry_cutover_downtime_seconds");
  ASSERT_TRUE(final_downtime) << done;
  ASSERT_TRUE(PollUntil([&] { return Get(s.address, "/api/status").status == 200; }));
  EXPECT_EQ(Metric(Get(s.address, "/metrics").body, "walferry_cutover_downtime_seconds"), final_downtime)
      << "once the target is ready the downtime no longer grows";
  nlohmann::json status = nlohmann::json::parse(Get(s.address, "/api/status").body);
  ASSERT_FALSE(status.empty());
  EXPECT_EQ(status[0]["cutover_step"], "done");
  dom = PageDom(s.address);
  EXPECT_NE(dom.find("cutover: done"), std::string::npos) << dom;
  EXPECT_EQ(s.Stop(), 0);
  pg::Connection src = test::ConnectSource(db);
  pg::Connection tgt = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(src, tgt, "t"), "");
}

// One reading is one snapshot of the target: a cutover that records its next step while serve reads must not give
// /api/status one step and /metrics another (seen in CI: status "fallback_ready" beside metrics "done"). The
// reading is held on a lock between the status document and the cutover row while the step moves on.
TEST(Serve, OneReadingSeesOneStepOfTheCutover) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, std::string(kTable) + "; INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 10)");
  std::string path = WriteConfigFor(db);
  ASSERT_EQ(test::RunWalferry({"-c", path, "load"}).exit_code, 0);
  test::CliResult r =
      test::RunWalferry({"-c", path, "cutover", "--timeout", "30"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  pg::Connection lock = test::ConnectTarget(db);
  lock.Exec("BEGIN");
  lock.Exec("LOCK TABLE walferry.validation_failures IN ACCESS EXCLUSIVE MODE");
  const config::Config config = config::Load(path);
  pg::Connection target = pg::Connection::Open(config.target, {.application_name = "walferry serve reading"});
  pg::Connection source = test::ConnectSource(db);
  serve::Observation obs;
  std::thread reading([&] { obs = serve::Observe(config, target, source, 0); });
  pg::Connection watch = test::ConnectTarget(db);
  const bool waits = PollUntil([&] {
    return watch.Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'walferry serve reading' "
                      "AND wait_event_type = 'Lock'").GetInt(0, 0) == 1;
  });
  test::ConnectTarget(db).Exec("UPDATE walferry.cutover SET step = 'sequences'");  // the cutover moves on
  lock.Exec("COMMIT");
  reading.join();
  ASSERT_TRUE(waits) << "the reading never waited on the lock";
  ASSERT_EQ(obs.status.size(), 1u) << obs.status.dump();
  ASSERT_TRUE(obs.cutover_step);
  EXPECT_EQ(obs.status[0]["cutover_step"], *obs.cutover_step) << obs.status.dump();
  EXPECT_EQ(*obs.cutover_step, "caught_up") << "the reading's snapshot was taken before the step moved";
  ASSERT_EQ(test::RunWalferry({"-c", path, "cutover", "--abort"}).exit_code, 0);
  pg::Connection src = test::ConnectSource(db);
  pg::Connection tgt = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(src, tgt, "t"), "");
  auto repl = pg::ReplicationConnection::Open(test::Source().Uri(db));
  repl.DropSlot("walferry_cut", true);  // slot names are cluster-wide: the next test's set is "cut" too
}

// migrate --listen serves from its own process through the load and the CDC that follows: the set loaded, its
// changes counted, /api/status equal to `status --json`; Ctrl-C still stops migrate cleanly.
TEST(Serve, MigrateListenServesFromItsOwnProcess) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, std::string(kTable) + "; INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 100)");
  std::string config = WriteConfigFor(db);
  Writer writer(db);
  Served migrate = Served::Spawn({"-c", config, "migrate", "--listen", "127.0.0.1:0", "--serve-interval", "0.5"},
                                 "migrate");
  ASSERT_FALSE(migrate.address.empty());
  std::string m;
  ASSERT_TRUE(PollUntil([&] {
    m = Get(migrate.address, "/metrics").body;
    return Metric(m, "walferry_set_load_state", {"set=\"cut\"", "state=\"loaded\""}) == 1 &&
           Metric(m, "walferry_changes_applied_total", {"set=\"cut\""}).value_or(0) > 0;
  })) << m << test::ReadWholeFile(migrate.log);
  EXPECT_EQ(Metric(m, "walferry_load_table_copied", {"set=\"cut\"", "table=\"public.t\""}), 1) << m;
  EXPECT_EQ(Metric(m, "walferry_set_running", {"set=\"cut\""}), 1) << m;
  ExpectPromtoolAccepts(m);
  writer.Stop();
  pg::Connection source = test::ConnectSource(db);
  pg::Connection target = test::ConnectTarget(db);
  ASSERT_TRUE(PollUntil([&] {
    return test::Count(target, "SELECT count(*) FROM t") == test::Count(source, "SELECT count(*) FROM t");
  })) << test::ReadWholeFile(migrate.log);
  ASSERT_TRUE(PollUntil([&] {
    Http api = Get(migrate.address, "/api/status");
    test::CliResult st = test::RunWalferry({"-c", config, "--json", "status"});
    return api.status == 200 && st.exit_code == 0 &&
           Stable(nlohmann::json::parse(api.body)) == Stable(nlohmann::json::parse(st.output));
  }));
  EXPECT_EQ(migrate.Stop(), 0) << test::ReadWholeFile(migrate.log);
  EXPECT_EQ(test::DiffTable(source, target, "t"), "");
  auto repl = pg::ReplicationConnection::Open(test::Source().Uri(db));
  repl.DropSlot("walferry_cut", true);
}

}  // namespace
}  // namespace walferry
