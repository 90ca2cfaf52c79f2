// cdc.heartbeat_seconds: an idle set's slot keeps advancing while another database of the source generates WAL,
// so the WAL the slot retains stays bounded.
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::PollUntil;

TEST(CdcHeartbeat, IdleSetSlotAdvancesAndRetainedWalStaysBounded) {
  CdcFixture f = CdcFixture::Create("hb", "CREATE TABLE quiet (id int PRIMARY KEY)", {"public.quiet"});
  f.AppendConfig("cdc:\n  heartbeat_seconds: 1\n");
  std::string other = test::FreshDatabase("busy");
  pg::Connection busy = test::ConnectSource(other);
  busy.Exec("CREATE TABLE noise (id bigint, pad text)");
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  pg::Connection src = test::ConnectSource(f.db);
  const char* kSlot = "SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
                      "FROM pg_replication_slots WHERE slot_name = 'walferry_hb'";
  // About 100 MB of WAL in another database, in many transactions; the set's tables never change.
  for (int i = 0; i < 20; ++i) busy.Exec("INSERT INTO noise SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
  Lsn after_noise = Lsn::Parse(src.Exec("SELECT pg_current_wal_lsn()::text").Get(0, 0));
  int64_t generated = src.Exec("SELECT pg_wal_lsn_diff($1::pg_lsn, '0/0')", {pg::Param(after_noise.ToString())})
                          .GetInt(0, 0);
  EXPECT_GT(generated, 50 << 20);
  // The slot is confirmed past all of it, and (after the next running-xacts record) its restart_lsn follows, so
  // the WAL it retains is a small fraction of what was written.
  bool advanced = PollUntil([&] {
    pg::Result r = src.Exec(kSlot);
    return Lsn::Parse(r.Get(0, 0)) >= after_noise && r.GetInt(0, 1) < (16 << 20);
  }, std::chrono::seconds(90));
  pg::Result r = src.Exec(kSlot);
  EXPECT_TRUE(advanced) << "confirmed_flush_lsn " << r.Get(0, 0) << " (noise ended at " << after_noise.ToString()
                        << "), retained bytes " << r.GetInt(0, 1);
  // The heartbeat itself writes WAL in the set's database and the slot follows it, with nothing else running.
  Lsn before = Lsn::Parse(src.Exec(kSlot).Get(0, 0));
  EXPECT_TRUE(PollUntil([&] { return Lsn::Parse(src.Exec(kSlot).Get(0, 0)) > before; }, std::chrono::seconds(30)));
  int status = cdctest::TerminateAndWait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  src.Exec("INSERT INTO quiet VALUES (1)");
  auto res = f.Cdc();
  ASSERT_EQ(res.exit_code, 0) << res.output;
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
