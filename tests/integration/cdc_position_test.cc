// Positions on the source that CDC must get right beyond its own stream.
// The set's slot, checked against what walferry itself applied and confirmed (docs/design/resume.md, "The slot's
// position"): a slot moved past both behind walferry's back (pg_replication_slot_advance, a second configuration
// with the same set name, a target restored from a backup) would stream from its own position and the
// transactions in between would never be applied; the set fails instead, naming the gap and the fix. A slot that
// walferry itself confirmed past its checkpoint (keepalives while idle), then killed with SIGKILL, is not taken
// for moved.
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

Lsn SlotConfirmed(pg::Connection& src, const std::string& slot) {
  return Lsn::Parse(
      test::Text(src, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot + "'"));
}

TEST(CdcSlot, ASlotAdvancedBehindWalferrysBackFailsTheSetInsteadOfSkippingRows) {
  CdcFixture f = CdcFixture::Create("moved", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t SELECT g, 'before' FROM generate_series(1, 10) g");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Pending changes, then the slot moved past them while CDC is stopped. Committed synchronously (the test
  // clusters run with synchronous_commit = off): a slot is never advanced past the flushed WAL.
  src.Exec("SET synchronous_commit = on");
  src.Exec("INSERT INTO t SELECT g, 'pending' FROM generate_series(11, 20) g");
  src.Exec("UPDATE t SET v = 'changed' WHERE id <= 3");
  Lsn after_pending = Lsn::Parse(test::Text(src, "SELECT pg_current_wal_insert_lsn()::text"));
  src.Exec("SELECT pg_replication_slot_advance('walferry_moved', pg_current_wal_insert_lsn())");
  ASSERT_GE(SlotConfirmed(src, "walferry_moved"), after_pending) << "the slot was not moved past the changes";
  r = f.Cdc();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("slot walferry_moved"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("walferry restart --set moved"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(test::Text(t, "SELECT task_status FROM walferry.status WHERE task_name = 'moved'"), "FAILED");
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 10) << "nothing after the gap applied either";
  // Refused again on every start: the gap does not close by itself.
  r = f.Cdc();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // The fix the message names: the set loaded again from a new snapshot; then source equals target.
  r = test::RunWalferry({"-c", f.config_path, "restart", "--set", "moved"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  src.Exec("INSERT INTO t VALUES (21, 'after')");
  f.CatchUpExpectEqualAndDropSlot();
}

// walferry confirms keepalive positions past its checkpoint while the set is idle and the source writes elsewhere:
// it records each before telling the slot, so a SIGKILL right after does not make the next start refuse the set.
TEST(CdcSlot, ASlotWalferryConfirmedPastItsCheckpointBeforeASigkillStillStarts) {
  CdcFixture f = CdcFixture::Create("idlekill", "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE elsewhere (id int)",
                                    {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  src.Exec("INSERT INTO t VALUES (1)");
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  ASSERT_TRUE(test::PollUntil([&] { return test::Count(t, "SELECT count(*) FROM t") == 1; }));
  Lsn checkpoint = Lsn::Parse(test::Text(t, "SELECT applied_lsn::text FROM walferry.checkpoint"));
  // WAL that holds nothing for the set: walferry confirms it from keepalives while idle.
  bool past = test::PollUntil([&] {
    src.Exec("INSERT INTO elsewhere VALUES (1)");
    return SlotConfirmed(src, "walferry_idlekill") > checkpoint;
  });
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(past) << "walferry never confirmed past its checkpoint " << checkpoint.ToString();
  EXPECT_EQ(Lsn::Parse(test::Text(t, "SELECT applied_lsn::text FROM walferry.checkpoint")), checkpoint)
      << "a group committed meanwhile: the slot is not past the checkpoint by keepalives alone";
  src.Exec("INSERT INTO t VALUES (2)");
  f.CatchUpExpectEqualAndDropSlot();
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 2);
}

}  // namespace
}  // namespace walferry
