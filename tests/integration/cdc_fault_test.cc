// walferry cdc running in the background while a workload runs on the source, through real faults: the target
// restarted, the source restarted, walferry's walsender and its apply backend terminated. walferry must
// reconnect by itself (backoff, docs/cdc.md "Failures") and keep applying; each test ends with the workload
// stopped, walferry caught up, then stopped with SIGTERM (exit 0), and every table equal on both sides: nothing
// lost, nothing applied twice (a duplicate ledger row would violate its key and stop the set; nokey has no key and
// REPLICA IDENTITY FULL, so a duplicate or a lost row there shows in the comparison).
#include <atomic>
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

}  // namespace
}  // namespace walferry
