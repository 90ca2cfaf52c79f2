// Positions on the source that CDC must get right beyond its own stream.
// The set's slot, checked against what walferry itself applied and confirmed (docs/design/resume.md, "The slot's
// position"): a slot moved past both behind walferry's back (pg_replication_slot_advance, a second configuration
// with the same set name, a target restored from a backup) would stream from its own position and the
// transactions in between would never be applied; the set fails instead, naming the gap and the fix. A slot that
// walferry itself confirmed past its checkpoint (keepalives while idle), then killed with SIGKILL, is not taken
// for moved.
// The stop position of --until-caught-up (cdc/stop_position.h): a record's end that a keepalive reaches on an idle
// source, never a position just past a page header.
#include "cdc/stop_position.h"
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

// Leaves the source's WAL insert position just past a page header: the last record ends exactly at a page end.
// Logical messages of a computed size fill the page; retried when other WAL (autovacuum, the bgwriter) interleaves.
bool InsertJustPastAPageHeader(pg::Connection& src) {
  auto insert = [&] { return Lsn::Parse(test::Text(src, "SELECT pg_current_wal_insert_lsn()::text")); };
  auto emit = [&](uint64_t bytes) {
    src.Exec("SELECT pg_logical_emit_message(false, 'walferry_test_pad', repeat('x', " + std::to_string(bytes) + "))");
  };
  constexpr uint64_t kPage = 8192;
  constexpr uint64_t kProbe = 300;  // over 255 bytes: the record's data header is the long one, as for the filler
  for (int attempt = 0; attempt < 50; ++attempt) {
    Lsn before = insert();
    emit(kProbe);
    Lsn after = insert();
    uint64_t size = after.value() - before.value();  // MAXALIGN(overhead + kProbe), on the same page
    uint64_t left = kPage - after.value() % kPage;
    if (after.value() / kPage != before.value() / kPage || size < kProbe || left < size + kProbe) {
      emit(1000);  // crossed a page, or too little room left: start on the next page
      continue;
    }
    emit(left - (size - kProbe));  // overhead + payload == left (within MAXALIGN): ends on the page end
    uint64_t at = insert().value();
    if (at % kPage == 24 || at % (16 << 20) == 40) return true;
  }
  return false;
}

TEST(CdcStop, UntilCaughtUpOnAnIdleSourceWhoseInsertPositionIsJustPastAPageHeaderStopsAtARecordEnd) {
  CdcFixture f = CdcFixture::Create("idlestop", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t SELECT generate_series(1, 100)");
  ASSERT_TRUE(InsertJustPastAPageHeader(src)) << "could not leave the insert position just past a page header";
  // Nothing else is written on the source from here: with no heartbeat, no keepalive ever reports more than the
  // page boundary, 24 bytes before the insert position.
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t at = r.output.find("stopping at ");
  ASSERT_NE(at, std::string::npos) << r.output;
  Lsn stop = Lsn::Parse(r.output.substr(at + 12, r.output.find_first_of(",\n ", at + 12) - at - 12));
  EXPECT_NE(stop.value() % 8192, 24u) << "the stop position " << stop.ToString() << " is just past a page header";
  EXPECT_NE(stop.value() % (16 << 20), 40u) << stop.ToString();
  f.CatchUpExpectEqualAndDropSlot();
}

// The stop position and the cutover's slot peek read only flushed WAL, and the test clusters (like many sources)
// commit asynchronously: the flush before them must reach every commit made before it. An empty transaction with
// an xid did not: a commit that wrote no WAL of its own is asynchronous whatever synchronous_commit says, so the
// flush waited for the WAL writer (the cutover's peek missed a write that escaped the freeze on a busy machine).
// Here the WAL writer sleeps 10 s, so only walferry's own flush can flush the commit in time.
TEST(CdcStop, TheStopPositionFlushesAnAsynchronousCommitMadeJustBefore) {
  CdcFixture f = CdcFixture::Create("asyncflush", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  pg::Connection admin = test::ConnectSource("postgres");
  admin.Exec("ALTER SYSTEM SET wal_writer_delay = '10s'");
  admin.Exec("SELECT pg_reload_conf()");
  struct Restore {
    pg::Connection& admin;
    ~Restore() {
      try {
        admin.Exec("ALTER SYSTEM RESET wal_writer_delay");
        admin.Exec("SELECT pg_reload_conf()");
      } catch (const Error& e) {
        ADD_FAILURE() << "wal_writer_delay not reset: " << e.what();
      }
    }
  } restore{admin};
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("SET synchronous_commit = off");
  pg::Connection walferry_side = test::ConnectSource(f.db);
  int flushed_in_time = 0;
  for (int i = 0; i < 5; ++i) {
    src.Exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
    Lsn committed = Lsn::Parse(test::Text(src, "SELECT pg_current_wal_insert_lsn()::text"));
    Lsn stop = cdc::SourceStopPosition(walferry_side);
    Lsn flushed = Lsn::Parse(test::Text(src, "SELECT pg_current_wal_flush_lsn()::text"));
    EXPECT_GE(stop, committed);
    if (flushed >= committed) ++flushed_in_time;
  }
  EXPECT_EQ(flushed_in_time, 5) << "the flush did not reach asynchronous commits made just before it";
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
