// docs/runbook.md, run as written: every command of its `sh` blocks, in order, against real servers, while an
// application writes on the source (and, after the switch, on the target until the switch back). The commands are
// read from the document, so the runbook cannot drift from what walferry does. A command ending in `&` runs in the
// background (the test waits until it streams, and at the end until it has stopped by itself); every command must
// exit 0. It ends with the old source equal to the target (tables, sequences, large objects) after the switch back.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/process.h"
#include "support/clusters.h"
#include "support/same_objects.h"

extern char** environ;

namespace walferry {
namespace {

namespace fs = std::filesystem;

// The lines of the ```sh blocks of `path`, in order.
std::vector<std::string> RunbookCommands(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```sh") {
      inside = true;
    } else if (inside && line.rfind("```", 0) == 0) {
      inside = false;
    } else if (inside && !line.empty() && line[0] != '#') {
      out.push_back(line);
    }
  }
  return out;
}

// The application: pgbench-like accounts and history, a jsonb document table, a partitioned table with rows that
// move between partitions, a standalone sequence and large objects.
constexpr const char* kSchema = R"sql(
  CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, filler text);
  CREATE TABLE history (account int, delta int, at timestamptz DEFAULT now());
  ALTER TABLE history REPLICA IDENTITY FULL;
  CREATE TABLE docs (id int PRIMARY KEY, body jsonb, attachment oid);
  CREATE TABLE events (id int, region int, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
  CREATE TABLE events_0 PARTITION OF events FOR VALUES IN (0);
  CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1);
  CREATE SEQUENCE ticket_no;
  INSERT INTO accounts SELECT g, 0, repeat('x', 80) FROM generate_series(1, 2000) g;
  INSERT INTO docs SELECT g, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)),
                          lo_from_bytea(0, convert_to(repeat('doc' || g, 500), 'UTF8'))
    FROM generate_series(1, 20) g;
  INSERT INTO events SELECT g, g % 2, 'e' FROM generate_series(1, 500) g;
)sql";

const std::vector<std::string> kTables = {"accounts", "history", "docs", "events"};

// Writes like the application until stopped or until the server refuses (the cutover ends its session).
class Application {
 public:
  Application(std::string uri, int seed) : uri_(std::move(uri)), seed_(seed) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Application() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t transactions() const { return done_; }

 private:
  void Loop() {
    try {
      // Named as an application: walferry's own sessions (application_name walferry...) are not the
      // application's.
      pg::Connection c = pg::Connection::Open(uri_, {.application_name = "runbook application"});
      for (int i = 0; !stop_; ++i) {
        const std::string n = std::to_string(seed_ * 100000 + i);
        const std::string a = std::to_string(1 + (i * 7919) % 2000);
        c.Exec("BEGIN");
        c.Exec("UPDATE accounts SET balance = balance + 1 WHERE id = " + a);
        c.Exec("INSERT INTO history (account, delta) VALUES (" + a + ", 1)");
        c.Exec("UPDATE docs SET body = jsonb_set(body, '{n}', to_jsonb(" + n + ")) WHERE id = " +
               std::to_string(1 + i % 20));
        c.Exec("UPDATE events SET region = 1 - region WHERE id = " + std::to_string(1 + i % 500));
        if (i % 10 == 0) c.Exec("SELECT nextval('ticket_no')");
        if (i % 25 == 0) {
          c.Exec("INSERT INTO docs VALUES (" + n + ", '{}', lo_from_bytea(0, '\\x0102'::bytea))");
        }
        c.Exec("COMMIT");
        ++done_;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } catch (const Error&) {
      // Ended by the cutover (sessions terminated, or read-only): the application stops writing here.
    }
  }

  std::string uri_;
  int seed_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> done_{0};
  std::thread thread_;
};

struct Background {
  pid_t pid;
  std::string command;
  std::string log;
};

TEST(Runbook, EveryCommandOfTheRunbookRunsInOrderAndTheDataEndsEqual) {
  const std::vector<std::string> commands = RunbookCommands(std::string(WALFERRY_SOURCE_DIR) + "/docs/runbook.md");
  // The runbook must walk the whole migration: nothing may silently drop out of it.
  std::string all;
  for (const auto& c : commands) all += c + "\n";
  for (const char* step : {"CREATE DATABASE", "walferry assess", "walferry plan", "walferry load", "walferry cdc",
                           "walferry validate", "walferry cutover", "walferry fallback", "--switch-back",
                           "walferry cleanup"}) {
    ASSERT_NE(all.find(step), std::string::npos) << step << " is missing from the runbook's commands:\n" << all;
  }

  const std::string db = "runbook_" + std::to_string(getpid());
  test::Source().CreateDatabase(db);
  test::Source().Psql(db, kSchema);
  const fs::path dir = fs::temp_directory_path() / ("runbook-" + db);
  fs::create_directories(dir);
  const std::string bin_dir = fs::path(WALFERRY_BINARY).parent_path().string();
  std::vector<std::string> env = {"SOURCE=" + test::Source().Uri(db), "TARGET=" + test::Target().Uri(db),
                                  "TARGET_ADMIN=" + test::Target().Uri("postgres"), "DB=" + db,
                                  "PATH=" + bin_dir + ":" + std::string(getenv("PATH") ? getenv("PATH") : "")};

  int status_after_switch_back = 0;  // the status checks below must have run
  std::optional<Application> app;
  app.emplace(test::Source().Uri(db), 1);
  std::vector<Background> background;
  std::string transcript;
  for (const std::string& command : commands) {
    const bool in_background = command.size() > 2 && command.substr(command.size() - 2) == " &";
    const bool cutover = command.find("walferry cutover") != std::string::npos;
    const bool switch_back = command.find("--switch-back") != std::string::npos;
    if (in_background) {
      std::string cmd = command.substr(0, command.size() - 2);
      std::smatch m;
      std::string log = std::regex_search(cmd, m, std::regex("> (\\S+)")) ? (dir / m[1].str()).string() : "";
      // Everything the child needs is built before fork (the application's thread runs meanwhile).
      std::vector<std::string> child_env = env;
      for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        std::string name = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (const auto& o : env) overridden = overridden || o.rfind(name + "=", 0) == 0;
        if (!overridden) child_env.push_back(entry);
      }
      std::vector<char*> envp;
      for (auto& e : child_env) envp.push_back(e.data());
      envp.push_back(nullptr);
      std::string full = "cd " + dir.string() + " && exec " + cmd;
      char bash[] = "/bin/bash", dash_c[] = "-c";
      char* argv[] = {bash, dash_c, full.data(), nullptr};
      pid_t pid = fork();
      if (pid == 0) {
        execve("/bin/bash", argv, envp.data());
        _exit(127);
      }
      background.push_back({pid, command, log});
      transcript += "$ " + command + "\n";
      // "Start at once": the test goes on once it streams (or has ended, which the end of the test reports).
      ASSERT_TRUE(test::PollUntil([&] {
        return test::ReadWholeFile(log).find("streaming from slot") != std::string::npos ||
               waitpid(pid, nullptr, WNOHANG) != 0;
      })) << command << "\n" << test::ReadWholeFile(log);
      continue;
    }
    ProcessResult r = RunProcess({"bash", "-c", "cd " + dir.string() + " && " + command}, {.env = env});
    transcript += "$ " + command + "\n" + r.output;
    ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.output << "\n--- transcript:\n" << transcript;
    // Every long command's last line (of its output, not of the log) tells the next step.
    for (const char* step : {"walferry plan", "walferry load", "walferry validate", "walferry cutover",
                             "--switch-back"}) {
      if (command.find(step) == std::string::npos) continue;
      std::istringstream lines(r.output);
      std::string line, last;
      while (std::getline(lines, line)) {
        if (!line.empty() && !std::regex_search(line, std::regex("^\\d{4}-\\d\\d-\\d\\d "))) last = line;
      }
      EXPECT_EQ(last.rfind("next: ", 0), 0u) << command << ": last line '" << last << "'\n" << r.output;
    }
    if (cutover) {
      // The switch: the application on the source was ended by it; now it writes on the target.
      app->Stop();
      app.emplace(test::Target().Uri(db), 2);
      ASSERT_TRUE(test::PollUntil([&] { return app->transactions() > 50; })) << "the target takes no writes";
    }
    if (switch_back) app->Stop();  // ended by the switch back
    const bool after_switch_back = transcript.find("$ walferry fallback -c walferry.yaml --switch-back") !=
                                   std::string::npos;
    if (command.find("walferry status") != std::string::npos && after_switch_back) {
      ++status_after_switch_back;
      // After the switch back, status says which database is the primary now (it used to say the cutover was
      // done and the source read-only, with "slot missing" for every set).
      EXPECT_NE(r.output.find("lifecycle: switched back to the source: the source database is the primary (takes "
                              "writes); the target is READ-ONLY for new sessions"),
                std::string::npos) << r.output;
      EXPECT_EQ(r.output.find("slot missing"), std::string::npos) << r.output;
    }
  }
  EXPECT_EQ(status_after_switch_back, 1) << "the runbook shows the status after the switch back";
  ASSERT_GT(app->transactions(), 0);
  app.reset();
  if (getenv("WALFERRY_RUNBOOK_TRANSCRIPT")) std::cout << transcript;
  for (const Background& b : background) {
    int status = 0;
    bool ended = test::PollUntil([&] { return waitpid(b.pid, &status, WNOHANG) == b.pid; });
    if (!ended) {
      kill(b.pid, SIGKILL);
      waitpid(b.pid, nullptr, 0);
    }
    EXPECT_TRUE(ended) << b.command << " did not stop by itself\n" << test::ReadWholeFile(b.log);
    EXPECT_TRUE(ended && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << b.command << "\n" << test::ReadWholeFile(b.log);
    // The fallback's worker stops at the switch back's final position: it says so of the database it streams from
    // (the target), not "on the source".
    const std::string log = test::ReadWholeFile(b.log);
    EXPECT_EQ(log.find("stopped writes on the source"), std::string::npos) << log;
    if (b.command.find("walferry fallback") != std::string::npos) {
      EXPECT_NE(log.find("a cutover stopped writes on the database this set streams from"), std::string::npos)
          << log;
    }
  }

  // After the switch back: the old source holds everything the target took, and nothing twice.
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  test::ExpectSameObjects(s, t, {kTables, {"ticket_no"}});
  // Both applications wrote: the source's before the switch, the target's after it (carried back).
  EXPECT_GT(test::Count(s, "SELECT count(*) FROM history"), 0);
  EXPECT_GT(test::Count(s, "SELECT count(*) FROM docs WHERE id >= 200000"), 0) << "the target's writes came back";
  EXPECT_EQ(test::Text(s, "SHOW default_transaction_read_only"), "off") << "the old source is the primary again";
  // After the switch back the target is read-only: a reset (to migrate again) says exactly what to run first, and
  // changes nothing (it failed with a raw "cannot execute ... in a read-only transaction").
  {
    ProcessResult r = RunProcess({"bash", "-c", "cd " + dir.string() + " && walferry reset -c walferry.yaml --yes"},
                                 {.env = env});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("RESET default_transaction_read_only; then walferry reset again"), std::string::npos)
        << r.output;
  }
  for (const auto& table : kTables) EXPECT_EQ(test::DiffTable(s, t, table), "") << table << " after the refused reset";
  // cleanup --control-schema after the switch back: nothing of walferry's is left on either database (the old
  // source kept the way back's state; the target is read-only for new sessions).
  for (pg::Connection* c : {&s, &t}) {
    EXPECT_EQ(test::Count(*c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);
    EXPECT_EQ(test::Count(*c, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
    EXPECT_EQ(test::Count(*c, "SELECT count(*) FROM pg_publication"), 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace walferry
