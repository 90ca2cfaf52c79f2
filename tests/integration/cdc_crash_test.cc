// walferry cdc killed with SIGKILL at random moments, at least 10 times, while a workload runs on the source;
// restarted each time. At the end every row is on the target exactly once: source equals target.
#include <atomic>
#include <chrono>
#include <thread>

#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::Spawn;

TEST(CdcCrash, KilledTenTimesLosesAndDuplicatesNothing) {
  cdctest::CdcFixture f = cdctest::CdcFixture::Create(
      "crash",
      "CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL, note text);"
      "CREATE TABLE ledger (id bigserial PRIMARY KEY, acct int, amount bigint);"
      "CREATE TABLE nokey (a int, b text); ALTER TABLE nokey REPLICA IDENTITY FULL",
      {"public.acct", "public.ledger", "public.nokey"});
  std::atomic<bool> done{false};
  std::thread workload([&] {
    pg::Connection c = test::ConnectSource(f.db);
    std::mt19937 rng(7);
    for (int i = 0; !done.load(); ++i) {
      int id = rng() % 300;
      c.Exec("BEGIN");
      c.Exec("INSERT INTO acct VALUES ($1, 0, 'n') ON CONFLICT (id) DO UPDATE SET balance = acct.balance + 1",
             {pg::Param(std::to_string(id))});
      c.Exec("INSERT INTO ledger (acct, amount) SELECT $1, g FROM generate_series(1, $2::int) g",
             {pg::Param(std::to_string(id)), pg::Param(std::to_string(1 + rng() % 200))});
      c.Exec("INSERT INTO nokey VALUES ($1, 'same')", {pg::Param(std::to_string(id % 7))});
      if (i % 3 == 0) {
        c.Exec("DELETE FROM nokey WHERE ctid = (SELECT ctid FROM nokey WHERE a = $1 LIMIT 1)",
               {pg::Param(std::to_string(id % 7))});
      }
      if (i % 5 == 0) c.Exec("DELETE FROM acct WHERE id = $1", {pg::Param(std::to_string((id + 1) % 300))});
      c.Exec(rng() % 8 == 0 ? "ROLLBACK" : "COMMIT");
    }
  });
  std::mt19937 rng(99);
  int kills = 0;
  for (; kills < 12; ++kills) {
    pid_t pid = Spawn({"-c", f.config_path, "cdc"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1500));  // a random moment, not a wait
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status)) << "walferry ended before it was killed: status " << status;
  }
  done.store(true);
  workload.join();
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(kills, 10);
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_GT(t.Exec("SELECT count(*) FROM ledger").GetInt(0, 0), 1000);
  f.ExpectEqual();
  f.DropSlot();
}

TEST(CdcCrash, SigtermStopsCleanlyWithStatusStopped) {
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("term", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t SELECT generate_series(1, 1000)");
  pid_t pid = Spawn({"-c", f.config_path, "cdc"});
  pg::Connection t = test::ConnectTarget(f.db);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (t.Exec("SELECT count(*) FROM t").GetInt(0, 0) < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = 'term'").Get(0, 0), "STOPPED");
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
