// walferry cdc running in the background while a workload runs on the source, through real faults: the target
// restarted, the source restarted, walferry's walsender and its apply backend terminated. walferry must
// reconnect by itself (backoff, docs/cdc.md "Failures") and keep applying; each test ends with the workload
// stopped, walferry caught up, then stopped with SIGTERM (exit 0), and every table equal on both sides: nothing
// lost, nothing applied twice (a duplicate ledger row would violate its key and stop the set; nokey has no key and
// REPLICA IDENTITY FULL, so a duplicate or a lost row there shows in the comparison).
#include <atomic>
#include <filesystem>
#include <thread>

#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::PollUntil;

const char* kSchema =
    "CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL);"
    "CREATE TABLE ledger (id bigserial PRIMARY KEY, acct int, amount bigint);"
    "CREATE TABLE nokey (a int, b text); ALTER TABLE nokey REPLICA IDENTITY FULL";

// Source transactions until `done`; reconnects when the source goes away (a restart aborts the open one).
class Workload {
 public:
  explicit Workload(std::string db) : db_(std::move(db)), thread_([this] { Loop(); }) {}
  ~Workload() { Stop(); }
  void Stop() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int committed() const { return committed_.load(); }

 private:
  void Loop() {
    std::mt19937 rng(11);
    while (!done_.load()) {
      try {
        pg::Connection c = test::ConnectSource(db_);
        while (!done_.load()) OneTransaction(c, rng);
      } catch (const Error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the source is restarting
      }
    }
  }
  void OneTransaction(pg::Connection& c, std::mt19937& rng) {
    std::string id = std::to_string(rng() % 200);
    c.Exec("BEGIN");
    c.Exec("INSERT INTO acct VALUES ($1, 0) ON CONFLICT (id) DO UPDATE SET balance = acct.balance + 1",
           {pg::Param(id)});
    c.Exec("INSERT INTO ledger (acct, amount) SELECT $1, g FROM generate_series(1, $2::int) g",
           {pg::Param(id), pg::Param(std::to_string(1 + rng() % 50))});
    c.Exec("INSERT INTO nokey VALUES ($1::int % 7, 'same')", {pg::Param(id)});
    if (rng() % 3 == 0) c.Exec("DELETE FROM nokey WHERE ctid = (SELECT ctid FROM nokey LIMIT 1)");
    c.Exec("COMMIT");
    committed_.fetch_add(1);
  }

  std::string db_;
  std::atomic<bool> done_{false};
  std::atomic<int> committed_{0};
  std::thread thread_;
};

int64_t TargetLedgerRows(const std::string& db) {
  try {
    return test::ConnectTarget(db).Exec("SELECT count(*) FROM ledger").GetInt(0, 0);
  } catch (const Error&) {
    return -1;  // the target is restarting
  }
}

// Waits until the target has gained rows since `since`: walferry is applying (again).
void ExpectProgress(const std::string& db, const char* after) {
  int64_t since = TargetLedgerRows(db);
  EXPECT_TRUE(PollUntil([&] { return TargetLedgerRows(db) > since; })) << "no rows applied after " << after;
}

// Runs `terminate` (a pg_terminate_backend query with one parameter) until it terminates exactly one backend.
// Polled: right after a termination walferry may still apply what it had received (progress) and only then
// reconnect, so for a moment the backend does not exist.
bool TerminateWhenPresent(pg::Connection& conn, const std::string& terminate, const std::string& param) {
  return PollUntil([&] { return conn.Exec(terminate, {pg::Param(param)}).rows() == 1; });
}

// Stops the workload, waits until the target equals the source, stops walferry and checks it ended cleanly.
void FinishAndCompare(CdcFixture& f, Workload& w, pid_t pid) {
  w.Stop();
  EXPECT_GT(w.committed(), 50);
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  bool equal = PollUntil([&] {
    for (const auto& tbl : f.tables) {
      if (!test::DiffTable(s, t, tbl).empty()) return false;
    }
    return true;
  });
  EXPECT_TRUE(equal) << "the target did not catch up with the source";
  int status = cdctest::TerminateAndWait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "walferry ended with status " << status;
  EXPECT_EQ(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = $1", {pg::Param(f.set)}).Get(0, 0),
            "STOPPED");
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.apply_exceptions").GetInt(0, 0), 0);
  f.ExpectEqual();
  f.DropSlot();
}

TEST(CdcFault, TargetRestartDuringWorkload) {
  CdcFixture f = CdcFixture::Create("tgtrestart", kSchema, {"public.acct", "public.ledger", "public.nokey"});
  Workload w(f.db);
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  ExpectProgress(f.db, "start");
  test::Target().Restart();
  ExpectProgress(f.db, "the first target restart");
  test::Target().Restart();
  ExpectProgress(f.db, "the second target restart");
  FinishAndCompare(f, w, pid);
}

TEST(CdcFault, SourceRestartDuringWorkload) {
  CdcFixture f = CdcFixture::Create("srcrestart", kSchema, {"public.acct", "public.ledger", "public.nokey"});
  Workload w(f.db);
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  ExpectProgress(f.db, "start");
  test::Source().Restart();
  ExpectProgress(f.db, "the first source restart");
  test::Source().Restart();
  ExpectProgress(f.db, "the second source restart");
  FinishAndCompare(f, w, pid);
}

TEST(CdcFault, TerminatedWalsenderAndApplyBackend) {
  CdcFixture f = CdcFixture::Create("dropconn", kSchema, {"public.acct", "public.ledger", "public.nokey"});
  Workload w(f.db);
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  for (int round = 0; round < 3; ++round) {
    ExpectProgress(f.db, "a reconnect");
    // The walsender serving the set's slot.
    EXPECT_TRUE(TerminateWhenPresent(s, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                                        "WHERE slot_name = $1 AND active_pid IS NOT NULL",
                                     "walferry_" + f.set))
        << "no active walsender for the slot";
    ExpectProgress(f.db, "terminating the walsender");
    // The target backend applying the set's transactions (application_name set by the worker).
    EXPECT_TRUE(TerminateWhenPresent(
        t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        "walferry_apply_" + f.set))
        << "no apply backend found on the target";
  }
  ExpectProgress(f.db, "terminating the apply backend");
  FinishAndCompare(f, w, pid);
}

// The configuration file of `f` with the target's conninfo replaced.
std::string ConfigWithTarget(const CdcFixture& f, const std::string& target, const std::string& name) {
  std::string yaml = test::ReadWholeFile(f.config_path);
  const std::string from = "target: \"" + test::Target().Uri(f.db) + "\"";
  size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << yaml;
  if (at != std::string::npos) yaml.replace(at, from.size(), "target: \"" + target + "\"");
  std::string path = f.config_path + "." + name + ".yaml";
  std::ofstream(path) << yaml << "cdc:\n  retry_for: 60s\n";
  return path;
}

// A connection the server refuses for good (a wrong password, a missing database) is not retried for
// cdc.retry_for: walferry cdc ends at once with exit 2 and the fix (cdc/failure_class.h). Before, both were
// retried for the whole retry_for (60 s here, 15 minutes by default) and then ended with exit 1.
TEST(CdcFault, ALoginTheTargetRefusesEndsAtOnceWithExitTwoAndTheFix) {
  CdcFixture f = CdcFixture::Create("badlogin", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  pg::Connection t = test::ConnectTarget(f.db);
  t.Exec("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'walferry_pw') THEN "
         "CREATE ROLE walferry_pw LOGIN SUPERUSER PASSWORD 'right'; END IF; END$$");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t VALUES (1)");
  struct Case {
    std::string name, target, says;
  };
  for (const Case& c : {Case{"password", test::Target().UriAs("walferry_pw", "wrong", f.db), "password"},
                        Case{"database", test::Target().UriAs("walferry_pw", "right", f.db + "_missing"),
                             "does not exist"}}) {
    SCOPED_TRACE(c.name);
    test::CliResult r = test::RunWalferry({"-c", ConfigWithTarget(f, c.target, c.name), "cdc", "--until-caught-up"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pg_hba.conf"), std::string::npos) << "the fix is named: " << r.output;
    EXPECT_EQ(r.output.find("(retry "), std::string::npos) << "retried: " << r.output;
  }
  // With the right login the set runs.
  test::CliResult r = test::RunWalferry(
      {"-c", ConfigWithTarget(f, test::Target().UriAs("walferry_pw", "right", f.db), "right"), "cdc",
       "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  f.ExpectEqual();
  f.DropSlot();
}

// A target that turns read-only in a failover (a standby until it is promoted, or default_transaction_read_only
// here) is retried within cdc.retry_for, never taken for a broken set: once it is writable again the set goes on
// and ends equal. Before, the first write of the session (SQLSTATE 25006) failed the set at once.
TEST(CdcFault, ATargetThatTurnsReadOnlyAndWritableAgainIsRetried) {
  CdcFixture f = CdcFixture::Create("readonly", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  src.Exec("INSERT INTO t VALUES (1)");
  const std::string log = f.config_path + ".readonly.log";
  std::filesystem::remove(log);  // an earlier run's, whose database had the same name
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  ASSERT_TRUE(PollUntil([&] { return test::Count(t, "SELECT count(*) FROM t") == 1; }));
  // The failover: new sessions may not write, walferry's sessions are gone.
  t.Exec("ALTER DATABASE " + pg::QuoteIdent(f.db) + " SET default_transaction_read_only = on");
  t.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND "
         "pid <> pg_backend_pid()");
  src.Exec("INSERT INTO t VALUES (2)");
  EXPECT_TRUE(PollUntil([&] { return test::ReadWholeFile(log).find("read-only transaction") != std::string::npos; }))
      << test::ReadWholeFile(log);
  t.Exec("ALTER DATABASE " + pg::QuoteIdent(f.db) + " RESET default_transaction_read_only");
  EXPECT_TRUE(PollUntil([&] { return test::Count(t, "SELECT count(*) FROM t") == 2; })) << test::ReadWholeFile(log);
  int status = cdctest::TerminateAndWait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << test::ReadWholeFile(log);
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
