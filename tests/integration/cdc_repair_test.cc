// validate --repair and a running CDC: the repair is refused while the set's slot is read (it could write a row
// that CDC then overwrites with an older change, or insert a row CDC inserts again), naming the process and
// writing nothing; once CDC is stopped the repair fixes the row, and CDC then carries on exactly.
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::PollUntil;

TEST(CdcRepair, RepairIsRefusedWhileTheSetsCdcRunsThenRepairsOnceItStopped) {
  CdcFixture f = CdcFixture::Create("rep", "CREATE TABLE r (id int PRIMARY KEY, v text)", {"public.r"});
  pg::Connection src = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  src.Exec("INSERT INTO r SELECT g, 'v' || g FROM generate_series(1, 100) g");
  ASSERT_TRUE(PollUntil([&] { return test::Count(t, "SELECT count(*) FROM r") == 100; }));
  t.Exec("UPDATE r SET v = 'wrong' WHERE id = 7");

  test::CliResult r = test::RunWalferry({"-c", f.config_path, "validate", "--repair"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--repair refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pid "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stop the set's CDC first"), std::string::npos) << r.output;
  EXPECT_EQ(std::string(t.Exec("SELECT v FROM r WHERE id = 7").Get(0, 0)), "wrong");  // nothing written

  // Plain validate (no repair) still runs beside CDC and finds the row.
  r = test::RunWalferry({"-c", f.config_path, "validate"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("RECORD_DIFF"), std::string::npos) << r.output;

  int status = cdctest::TerminateAndWait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // CDC stopped with a change of the set not applied: the target is not at any source snapshot, so nothing is
  // compared or written, and validate says what waits.
  src.Exec("UPDATE r SET v = 'later' WHERE id = 8");
  r = test::RunWalferry({"-c", f.config_path, "validate", "--repair", "--wait-seconds", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("1 change(s) of the set committed after the checkpoint wait in it"), std::string::npos)
      << r.output;
  EXPECT_EQ(std::string(t.Exec("SELECT v FROM r WHERE id = 7").Get(0, 0)), "wrong");
  EXPECT_EQ(std::string(t.Exec("SELECT v FROM r WHERE id = 8").Get(0, 0)), "v8");

  // Caught up and stopped, the set quiet (other databases keep writing WAL): the slot holds nothing for the set,
  // so validate compares without a running CDC, and the repair writes the source's row.
  r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::FreshDatabase("noise");  // WAL past the slot's confirmed position
  r = test::RunWalferry({"-c", f.config_path, "validate", "--repair", "--wait-seconds", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no change of the set committed between its checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(std::string(t.Exec("SELECT v FROM r WHERE id = 7").Get(0, 0)), "v7");
  // CDC carries on exactly after the repair.
  src.Exec("UPDATE r SET v = 'after' WHERE id = 7; INSERT INTO r VALUES (101, 'new')");
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
