// The durability rule (docs/design/resume.md): the slot is never told a position past a change of the set that the
// target has not flushed. Seen from outside: after a target crash, every published transaction the server will
// not send again (its commit record starts before the slot's confirmed_flush_lsn) must be on the target, i.e. end
// at or before the checkpoint the target recovered. That is what this test checks, with a witness slot (a second,
// unconsumed slot on the set's publication) listing every published transaction independently of walferry.
//
// It is NOT "confirmed <= checkpoint": walferry may confirm past its checkpoint while idle (a keepalive's WAL end
// when nothing of the set is pending, docs/design/lsn.md), and that WAL holds nothing of the set.
//
// The crash must really lose a commit, or the rule is not exercised: the target keeps async commits unwritten for
// long (wal_writer_delay = 10 s; walferry applies with synchronous_commit off and only its once-a-second status
// write, synchronous_commit local, writes the WAL out); walferry reaches the target through a proxy the test
// stalls the moment the rows are visible (so nothing more reaches the target: no status write flushes them), then
// waits until walferry has sent the source a status update after the stall (its chance to confirm what it must
// not), and stops the target with `-m immediate`. Rounds repeat (at most 6) until two crashes lost a commit (the
// recovered checkpoint behind the one read before the crash); at least one must have. walferry, still running,
// must retry, get the lost transactions again from the slot, and end with every row on the target exactly once.
// Before the rule the slot had already confirmed the lost commits and the server never sent them again: rows were
// missing and nothing warned.
#include <filesystem>

#include "cdc_support.h"
#include "support/tcp_proxy.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::Published;
using cdctest::PublishedTxn;
using cdctest::PollUntil;
using std::chrono::milliseconds;
using std::chrono::seconds;

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

int64_t Rows(pg::Connection& t) { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0); }

TEST(CdcDurability, TargetCrashNeverLosesWhatTheSlotConfirmed) {
  CdcFixture f = CdcFixture::Create("durable", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  // Under this run's own TMPDIR: /tmp/walferry-<db>.yaml is shared with every other run of this test on the machine.
  const std::string own_config = (std::filesystem::temp_directory_path() / ("walferry-" + f.db + ".yaml")).string();
  std::filesystem::rename(f.config_path, own_config);
  f.config_path = own_config;
  const std::string witness = "walferry_durable_witness";
  test::Source().Psql(f.db, "SELECT pg_create_logical_replication_slot('" + witness + "', 'pgoutput')");
  test::TcpProxy target_proxy(test::Target().port());
  {
    std::string text = test::ReadWholeFile(f.config_path);
    const std::string direct = "\"" + test::Target().Uri(f.db) + "\"";
    size_t at = text.find(direct);
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, direct.size(),
                 "\"postgresql://postgres@127.0.0.1:" + std::to_string(target_proxy.port()) + "/" + f.db + "\"");
    std::ofstream(f.config_path, std::ios::trunc) << text;
  }
  test::Target().Psql("postgres",
                      "ALTER SYSTEM SET synchronous_commit = off; ALTER SYSTEM SET wal_writer_delay = '10s'; "
                      "SELECT pg_reload_conf()");
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  s.Exec("INSERT INTO t SELECT g, 'early' FROM generate_series(1, 100) g");
  ASSERT_TRUE(PollUntil([&] { return Rows(t) == 100; }));
  int64_t expected = 100;
  int lost_rounds = 0;
  for (int round = 0; round < 6 && lost_rounds < 2; ++round) {
    for (int i = 0; i < 20; ++i) {
      s.Exec("INSERT INTO t SELECT g, 'round ' || $2 FROM generate_series($1::int, $1::int + 9) g",
             {pg::Param(std::to_string(1000 * (round + 1) + 10 * i)), pg::Param(std::to_string(round))});
    }
    expected += 200;
    ASSERT_TRUE(PollUntil([&] { return Rows(t) == expected; }, seconds(120), milliseconds(5)));
    target_proxy.Stall();
    const Lsn before = Checkpoint(t, f.set);
    const std::string stalled_at = test::Text(s, "SELECT clock_timestamp()::text");
    // walferry's chance to confirm what it must not: a status update it sent the source after the stall (bounded;
    // without one the check below is only weaker).
    PollUntil(
        [&] {
          pg::Result r = s.Exec(
              "SELECT coalesce(r.reply_time > $1::timestamptz, false) FROM pg_stat_replication r "
              "JOIN pg_replication_slots sl ON sl.active_pid = r.pid WHERE sl.slot_name = $2",
              {pg::Param(stalled_at), pg::Param("walferry_" + f.set)});
          return r.rows() == 1 && r.GetBool(0, 0);
        },
        seconds(15));
    test::Target().Stop(true);
    target_proxy.Cut();  // what the stall held back goes with the server
    const Lsn confirmed = SlotConfirmed(f.db, f.set);
    std::this_thread::sleep_for(seconds(3));  // down for several of walferry's retries (0.5 s, 1 s, 2 s, ...)
    test::Target().StartOnSamePort();
    t = test::ConnectTarget(f.db);
    const Lsn recovered = Checkpoint(t, f.set);
    const bool lost = recovered < before;
    lost_rounds += lost ? 1 : 0;
    std::cout << "round " << round << ": checkpoint " << before.ToString() << " before the crash, "
              << recovered.ToString() << " recovered" << (lost ? " (a commit lost)" : "") << "; slot confirmed "
              << confirmed.ToString() << std::endl;
    for (const PublishedTxn& txn : Published(s, witness, "walferry_" + f.set)) {
      EXPECT_FALSE(txn.commit < confirmed && recovered < txn.end)
          << "the slot confirmed " << confirmed.ToString() << " but the transaction committed at "
          << txn.commit.ToString() << " (end " << txn.end.ToString() << ") is past the checkpoint the target "
          << "recovered, " << recovered.ToString() << ": the server will never send it again";
    }
    // walferry reconnects by itself and applies again what the crash lost.
    EXPECT_TRUE(PollUntil([&] { return Rows(t) == expected; })) << "rows lost by the target crash were not applied "
                                                                  "again (round "
                                                               << round << ")";
  }
  EXPECT_GE(lost_rounds, 1) << "no target crash lost a commit: the durability rule was not exercised";
  int status = cdctest::TerminateAndWait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "walferry ended with status " << status;
  EXPECT_EQ(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = $1", {pg::Param(f.set)}).Get(0, 0),
            "STOPPED");
  test::Target().Psql("postgres", "ALTER SYSTEM RESET ALL; SELECT pg_reload_conf()");
  s.Exec("SELECT pg_drop_replication_slot($1)", {pg::Param(witness)});
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
