// The durability rule (docs/design/resume.md): the slot is never told a position whose target commit is not
// flushed in the target's WAL. The target is made to keep async commits unflushed for a long time
// (synchronous_commit = off for every session, wal_writer_delay = 10 s), walferry applies a workload, the target
// is crashed with `pg_ctl -m immediate` (losing the unflushed commits) and kept down for a while, then started
// again; then once more, crashed the moment the rows are visible. walferry, still running, must retry, get the
// lost transactions again from the slot, and end with every row on the target exactly once. Before the rule, the
// slot had already confirmed the lost commits and the server never sent them again: rows were missing and
// nothing warned (this test failed so: "the slot had confirmed 0/192E698 but the target recovered only
// 0/1927E78").
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::PollUntil;

std::string StatusTime(pg::Connection& t, const std::string& set) {
  pg::Result r = t.Exec("SELECT status_time::text FROM walferry.status WHERE task_name = $1", {pg::Param(set)});
  return r.rows() == 1 ? std::string(r.Get(0, 0)) : "";
}

// Waits until walferry has written its status row `n` more times: each write comes after a status update to the
// slot (both run once a second), so by then walferry has told the slot whatever it was going to tell it.
void WaitForStatusWrites(pg::Connection& t, const std::string& set, int n) {
  for (int i = 0; i < n; ++i) {
    std::string before = StatusTime(t, set);
    ASSERT_TRUE(PollUntil([&] { return StatusTime(t, set) != before; }, std::chrono::seconds(30)));
  }
}

Lsn SlotConfirmed(const std::string& db, const std::string& set) {
  pg::Connection s = test::ConnectSource(db);
  return Lsn::Parse(s.Exec("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                           {pg::Param("walferry_" + set)})
                        .Get(0, 0));
}

Lsn Checkpoint(pg::Connection& t, const std::string& set) {
  pg::Result r = t.Exec("SELECT applied_lsn::text FROM walferry.checkpoint WHERE set_name = $1", {pg::Param(set)});
  return r.rows() == 1 ? Lsn::Parse(r.Get(0, 0)) : Lsn{};
}

TEST(CdcDurability, TargetCrashNeverLosesWhatTheSlotConfirmed) {
  CdcFixture f = CdcFixture::Create("durable", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  test::Target().Psql("postgres",
                      "ALTER SYSTEM SET synchronous_commit = off; ALTER SYSTEM SET wal_writer_delay = '10s'; "
                      "SELECT pg_reload_conf()");
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  {
    pg::Connection s = test::ConnectSource(f.db);
    pg::Connection t = test::ConnectTarget(f.db);
    // Applied and flushed first, so the crash below can only lose what follows.
    s.Exec("INSERT INTO t SELECT g, 'early' FROM generate_series(1, 100) g");
    ASSERT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 100; }));
    t.Exec("CHECKPOINT");
    for (int i = 0; i < 20; ++i) {
      s.Exec("INSERT INTO t SELECT g, 'late' FROM generate_series($1::int, $1::int + 9) g",
             {pg::Param(std::to_string(1000 + 10 * i))});
    }
    ASSERT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 300; }));
    WaitForStatusWrites(t, f.set, 3);
    // What the slot confirmed must be on the target for good: nothing after the checkpoint the target will have.
    EXPECT_LE(SlotConfirmed(f.db, f.set), Checkpoint(t, f.set));
  }
  Lsn confirmed_before_crash = SlotConfirmed(f.db, f.set);
  test::Target().Stop(true);
  // Down for several of walferry's retries (0.5 s, 1 s, 2 s, ...).
  std::this_thread::sleep_for(std::chrono::seconds(5));
  test::Target().StartOnSamePort();
  pg::Connection t = test::ConnectTarget(f.db);
  Lsn recovered = Checkpoint(t, f.set);
  EXPECT_LE(confirmed_before_crash, std::max(recovered, Lsn(1)))
      << "the slot had confirmed " << confirmed_before_crash.ToString() << " but the target recovered only "
      << recovered.ToString();
  // walferry reconnects by itself and applies again what the crash lost.
  EXPECT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 300; }))
      << "rows lost by the target crash were not applied again";
  // Again, crashing the moment the rows are visible (before walferry's next status write, which flushes the
  // target's WAL): the last commits are most likely lost this time and must come back.
  {
    pg::Connection s = test::ConnectSource(f.db);
    for (int i = 0; i < 20; ++i) {
      s.Exec("INSERT INTO t SELECT g, 'last' FROM generate_series($1::int, $1::int + 9) g",
             {pg::Param(std::to_string(5000 + 10 * i))});
    }
    ASSERT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 500; },
                          std::chrono::seconds(120), std::chrono::milliseconds(5)));
  }
  test::Target().Stop(true);
  test::Target().StartOnSamePort();
  t = test::ConnectTarget(f.db);
  EXPECT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 500; }))
      << "rows lost by the second target crash were not applied again";
  int status = cdctest::TerminateAndWait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "walferry ended with status " << status;
  EXPECT_EQ(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = $1", {pg::Param(f.set)}).Get(0, 0),
            "STOPPED");
  test::Target().Psql("postgres", "ALTER SYSTEM RESET ALL; SELECT pg_reload_conf()");
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
