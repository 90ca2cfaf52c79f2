// Groups of source transactions (docs/cdc.md "Apply") when the target refuses something inside one: the valid
// transactions before the refused one always commit, and the failure is charged to exactly the refused
// transaction, whether the target refuses a change or the group's COMMIT (a deferred constraint). The backlog is
// committed on the source before walferry starts, so it arrives back to back and forms one group.
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

std::string Checkpoint(pg::Connection& t, const std::string& set) {
  pg::Result r = t.Exec("SELECT applied_lsn::text FROM walferry.checkpoint WHERE set_name = $1", {pg::Param(set)});
  return r.rows() == 1 ? std::string(r.Get(0, 0)) : "none";
}

Lsn WalInsert(pg::Connection& src) {
  return Lsn::Parse(src.Exec("SELECT pg_current_wal_insert_lsn()::text").Get(0, 0));
}

// Commits two valid transactions and the refused one; returns the WAL positions just before and just after the
// second one, between which its commit end LSN (the checkpoint walferry must reach) lies.
std::pair<Lsn, Lsn> ValidValidRefused(pg::Connection& src, const std::string& refused_sql) {
  src.Exec("INSERT INTO t VALUES (1, 'a')");
  Lsn before_second = WalInsert(src);
  src.Exec("INSERT INTO t VALUES (2, 'b')");
  Lsn after_second = WalInsert(src);
  src.Exec(refused_sql);
  return {before_second, after_second};
}

TEST(CdcGroup, DeferredConstraintRefusingTheGroupCommitChargesExactlyItsTransaction) {
  // Only the target has the deferred check, so only the target's COMMIT can refuse. It is a constraint trigger
  // enabled ALWAYS: walferry applies with session_replication_role = replica, under which ordinary triggers (and
  // with them deferred unique constraints) do not fire.
  CdcFixture f = CdcFixture::Create(
      "defer", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"},
      "CREATE FUNCTION v_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF (SELECT count(*) FROM t WHERE v = NEW.v) > 1 THEN RAISE EXCEPTION 'v_once: % is taken', NEW.v; END IF; "
      "RETURN NULL; END $$;"
      "CREATE CONSTRAINT TRIGGER v_once AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
      "EXECUTE FUNCTION v_once();"
      "ALTER TABLE t ENABLE ALWAYS TRIGGER v_once");
  pg::Connection src = test::ConnectSource(f.db);
  auto [before_second, after_second] = ValidValidRefused(src, "INSERT INTO t VALUES (3, 'a')");
  test::CliResult r = f.Cdc();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("v_once"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  // The two valid transactions are committed, deterministically, and the checkpoint is right after them.
  EXPECT_EQ(t.Exec("SELECT string_agg(id::text, ',' ORDER BY id) FROM t").Get(0, 0), "1,2");
  std::string cp = Checkpoint(t, f.set);
  ASSERT_NE(cp, "none");
  EXPECT_GT(Lsn::Parse(cp), before_second);
  EXPECT_LE(Lsn::Parse(cp), after_second);
  EXPECT_EQ(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = $1", {pg::Param(f.set)}).Get(0, 0),
            "FAILED");
  // With the constraint dropped on the target, the set goes on from exactly there.
  t.Exec("DROP TRIGGER v_once ON t");
  f.CatchUpExpectEqualAndDropSlot();
}

TEST(CdcGroup, RejectedChangeAfterValidTransactionsCommitsThemFirst) {
  CdcFixture f = CdcFixture::Create("reject", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"},
                                    "ALTER TABLE t ADD CONSTRAINT short_v CHECK (length(v) < 5)");
  pg::Connection src = test::ConnectSource(f.db);
  ValidValidRefused(src, "INSERT INTO t VALUES (3, 'too long')");
  for (int run = 0; run < 2; ++run) {  // the same answer every time
    test::CliResult r = f.Cdc();
    EXPECT_EQ(r.exit_code, 1) << r.output;
    pg::Connection t = test::ConnectTarget(f.db);
    EXPECT_EQ(t.Exec("SELECT string_agg(id::text, ',' ORDER BY id) FROM t").Get(0, 0), "1,2") << "run " << run;
    pg::Result ex = t.Exec("SELECT statement FROM walferry.apply_exceptions ORDER BY id DESC LIMIT 1");
    ASSERT_EQ(ex.rows(), 1);
    EXPECT_NE(std::string(ex.Get(0, 0)).find("too long"), std::string::npos) << ex.Get(0, 0);
  }
  pg::Connection t = test::ConnectTarget(f.db);
  t.Exec("ALTER TABLE t DROP CONSTRAINT short_v");
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
