// cdc.error_policy log-and-continue and suspend-table against a target that rejects some changes: what is applied,
// what is recorded in apply_exceptions (table, statement, values, error), what status shows, and that everything
// not rejected arrives exactly once.
#include <nlohmann/json.hpp>

#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

const char* kTwoTables = "CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE u (id int PRIMARY KEY)";
const char* kRejectBig = "ALTER TABLE t ADD CONSTRAINT only_small CHECK (v < 100)";

TEST(CdcPolicy, LogAndContinueSkipsOnlyTheRejectedChangesOfATransaction) {
  CdcFixture f = CdcFixture::Create("logcont", kTwoTables, {"public.t", "public.u"}, kRejectBig);
  f.AppendConfig("cdc:\n  error_policy: log-and-continue\n");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t VALUES (1, 5)");
  // One transaction: the middle change is rejected by the target, the others must be applied.
  src.Exec("BEGIN; INSERT INTO t VALUES (2, 500); INSERT INTO t VALUES (3, 7); INSERT INTO u VALUES (1); COMMIT");
  // Row 2 is missing on the target: this update matches no row there.
  src.Exec("BEGIN; UPDATE t SET v = 9 WHERE id = 2; UPDATE t SET v = 8 WHERE id = 1; INSERT INTO u VALUES (2); "
           "COMMIT");
  // More than a pipeline batch in one transaction, with rejected changes among them.
  src.Exec("INSERT INTO t SELECT g, CASE WHEN g % 100 = 0 THEN 1000 ELSE 1 END FROM generate_series(10, 2509) g");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("NOT APPLIED"), std::string::npos) << r.output;  // said loudly in the log
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(t.Exec("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t WHERE id < 10").Get(0, 0), "1:8,3:7");
  EXPECT_EQ(t.Exec("SELECT count(*) FROM t WHERE id >= 10").GetInt(0, 0), 2500 - 25);
  EXPECT_EQ(test::DiffTable(src, t, "public.u"), "");
  pg::Result ex = t.Exec("SELECT table_owner, table_name, statement, error FROM walferry.apply_exceptions ORDER BY id");
  ASSERT_EQ(ex.rows(), 2 + 25);
  EXPECT_EQ(std::string(ex.Get(0, 1)), "t");
  EXPECT_NE(std::string(ex.Get(0, 2)).find("$2='500'"), std::string::npos) << ex.Get(0, 2);
  EXPECT_NE(std::string(ex.Get(0, 3)).find("only_small"), std::string::npos) << ex.Get(0, 3);
  EXPECT_NE(std::string(ex.Get(1, 2)).find("UPDATE"), std::string::npos) << ex.Get(1, 2);
  EXPECT_NE(std::string(ex.Get(1, 3)).find("0 target rows matched"), std::string::npos) << ex.Get(1, 3);
  // The exceptions commit with the checkpoint: a rerun records nothing twice.
  r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.apply_exceptions").GetInt(0, 0), 2 + 25);
  // Remove the rejected rows at the source too: their deletes match nothing on the target (recorded), and then
  // both sides are equal.
  src.Exec("DELETE FROM t WHERE v >= 100 OR id = 2");
  f.CatchUpExpectEqualAndDropSlot();
}

TEST(CdcPolicy, LogAndContinueNeverCommitsAChangeItReportsSkipped) {
  // The target lost the primary key and holds row 1 twice: an UPDATE or DELETE of it matches 2 rows there.
  CdcFixture f = CdcFixture::Create("logtwo", "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)",
                                    {"public.t"}, "ALTER TABLE t DROP CONSTRAINT t_pkey; INSERT INTO t VALUES (1, 0)");
  f.AppendConfig("cdc:\n  error_policy: log-and-continue\n");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("BEGIN; UPDATE t SET v = 5 WHERE id = 1; INSERT INTO t VALUES (2, 2); COMMIT");
  src.Exec("BEGIN; DELETE FROM t WHERE id = 1; INSERT INTO t VALUES (3, 3); COMMIT");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  // Both changes are reported skipped, so neither may have touched the two rows.
  EXPECT_EQ(t.Exec("SELECT string_agg(id || ':' || v, ',' ORDER BY id, v) FROM t").Get(0, 0), "1:0,1:0,2:2,3:3");
  pg::Result ex = t.Exec("SELECT statement, error FROM walferry.apply_exceptions ORDER BY id");
  ASSERT_EQ(ex.rows(), 2);
  EXPECT_NE(std::string(ex.Get(0, 0)).find("UPDATE"), std::string::npos) << ex.Get(0, 0);
  EXPECT_NE(std::string(ex.Get(0, 1)).find("2 target rows matched"), std::string::npos) << ex.Get(0, 1);
  EXPECT_NE(std::string(ex.Get(1, 0)).find("DELETE"), std::string::npos) << ex.Get(1, 0);
  // The operator's repair of row 1 (as the exceptions say), then both sides are equal.
  t.Exec("DELETE FROM t WHERE id = 1");
  t.Exec("ALTER TABLE t ADD PRIMARY KEY (id)");
  src.Exec("INSERT INTO t VALUES (4, 4)");
  f.CatchUpExpectEqualAndDropSlot();
}

TEST(CdcPolicy, SuspendTableRecordsItsLaterChangesAndOtherTablesContinue) {
  CdcFixture f = CdcFixture::Create("susp", kTwoTables, {"public.t", "public.u"}, kRejectBig);
  f.AppendConfig("cdc:\n  error_policy: suspend-table\n");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("BEGIN; INSERT INTO t VALUES (1, 5); INSERT INTO u VALUES (1); COMMIT");
  src.Exec("BEGIN; INSERT INTO t VALUES (2, 6); INSERT INTO t VALUES (3, 500); INSERT INTO u VALUES (2); COMMIT");
  src.Exec("BEGIN; INSERT INTO u VALUES (3); INSERT INTO t VALUES (4, 1); COMMIT");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUSPENDED"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  // t is suspended from the failing transaction on (all of its t changes, also the one before the failure).
  EXPECT_EQ(t.Exec("SELECT string_agg(id::text, ',' ORDER BY id) FROM t").Get(0, 0), "1");
  EXPECT_EQ(test::DiffTable(src, t, "public.u"), "");
  pg::Result ex = t.Exec("SELECT table_name, statement, error FROM walferry.apply_exceptions ORDER BY id");
  ASSERT_EQ(ex.rows(), 4) << "the cause, then rows 2, 3 and 4 not applied";
  EXPECT_NE(std::string(ex.Get(0, 2)).find("only_small"), std::string::npos) << ex.Get(0, 2);
  EXPECT_NE(std::string(ex.Get(1, 1)).find("$1='2'"), std::string::npos) << ex.Get(1, 1);
  EXPECT_NE(std::string(ex.Get(3, 1)).find("$1='4'"), std::string::npos) << ex.Get(3, 1);
  EXPECT_NE(std::string(ex.Get(3, 2)).find("suspended"), std::string::npos) << ex.Get(3, 2);
  auto st = test::RunWalferry({"-c", f.config_path, "--json", "status"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  nlohmann::json j = nlohmann::json::parse(st.output);
  ASSERT_EQ(j.size(), 1u);
  ASSERT_EQ(j[0]["suspended_tables"].size(), 1u) << st.output;
  EXPECT_EQ(j[0]["suspended_tables"][0]["table"], "public.t");
  auto text = test::RunWalferry({"-c", f.config_path, "status"});
  EXPECT_NE(text.output.find("SUSPENDED public.t"), std::string::npos) << text.output;
  // Later changes of u keep flowing; t's keep being recorded.
  src.Exec("BEGIN; INSERT INTO u VALUES (4); UPDATE t SET v = 2 WHERE id = 1; COMMIT");
  r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::DiffTable(src, t, "public.u"), "");
  EXPECT_EQ(t.Exec("SELECT v FROM t WHERE id = 1").Get(0, 0), "5");
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.apply_exceptions").GetInt(0, 0), 5);
  // The operator's fix: reload the table, then lift the suspension; t is equal again.
  t.Exec("ALTER TABLE t DROP CONSTRAINT only_small");
  t.Exec("TRUNCATE t");
  t.Exec("INSERT INTO t VALUES (1, 2), (2, 6), (3, 500), (4, 1)");
  t.Exec("DELETE FROM walferry.suspended_tables WHERE task_name = 'susp'");
  src.Exec("INSERT INTO t VALUES (5, 5)");
  f.CatchUpExpectEqualAndDropSlot();
}

// retention.apply_exceptions: a running CDC deletes its set's exceptions recorded longer ago than the retention
// (at each session start, then hourly), and keeps recent ones, another set's and the one this run records.
TEST(CdcPolicy, CdcDeletesTheSetsApplyExceptionsOlderThanTheRetention) {
  CdcFixture f = CdcFixture::Create("retain", kTwoTables, {"public.t", "public.u"}, kRejectBig);
  f.AppendConfig("cdc:\n  error_policy: log-and-continue\nretention:\n  apply_exceptions: 7d\n");
  pg::Connection t = test::ConnectTarget(f.db);
  auto add = [&](const std::string& set, const std::string& statement, const std::string& age) {
    t.Exec("INSERT INTO walferry.apply_exceptions (task_name, table_owner, table_name, statement, error, error_time) "
           "VALUES ($1, 'public', 't', $2, 'rejected', now() - $3::interval)",
           {pg::Param(set), pg::Param(statement), pg::Param(age)});
  };
  add("retain", "old 1", "8 days");
  add("retain", "old 2", "300 days");
  add("retain", "recent", "6 days");
  add("other", "other set, old", "300 days");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t VALUES (1, 1), (2, 200)");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("set retain: removed 2 apply exceptions older than 7d (retention.apply_exceptions)"),
            std::string::npos)
      << r.output;
  pg::Result left = t.Exec("SELECT task_name, statement FROM walferry.apply_exceptions ORDER BY id");
  ASSERT_EQ(left.rows(), 3);
  EXPECT_EQ(left.Get(0, 1), "recent");
  EXPECT_EQ(left.Get(1, 1), "other set, old");
  EXPECT_EQ(left.Get(2, 0), "retain");
  EXPECT_NE(std::string(left.Get(2, 1)).find("$2='200'"), std::string::npos) << left.Get(2, 1);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 1);
  f.DropSlot();
}

// log-and-continue and suspend-table act only on a change's own failure (cdc/failure_class.h: 22*, 23*, a row
// count mismatch, a TRUNCATE refused by a foreign key). A failure that is not the data's (here an I/O error, 58030,
// raised by a trigger on the target, as a failing disk would) fails the set: before, log-and-continue skipped the
// change (a row missing on the target, exit 0) and suspend-table suspended the table.
TEST(CdcPolicy, AFailureThatIsNotTheDatasNeitherSkipsAChangeNorSuspendsATable) {
  for (const std::string policy : {"log-and-continue", "suspend-table"}) {
    SCOPED_TRACE(policy);
    CdcFixture f = CdcFixture::Create(
        policy == "log-and-continue" ? "notdata_log" : "notdata_susp", kTwoTables, {"public.t", "public.u"},
        "CREATE FUNCTION disk_trouble() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'could not write block: I/O error' USING ERRCODE = '58030'; END $$; "
        "CREATE TRIGGER disk_trouble BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION disk_trouble(); "
        "ALTER TABLE t ENABLE ALWAYS TRIGGER disk_trouble");
    f.AppendConfig("cdc:\n  error_policy: " + policy + "\n");
    pg::Connection src = test::ConnectSource(f.db);
    src.Exec("BEGIN; INSERT INTO u VALUES (1); INSERT INTO t VALUES (1, 5); COMMIT");
    test::CliResult r = f.Cdc();
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("I/O error"), std::string::npos) << r.output;
    pg::Connection t = test::ConnectTarget(f.db);
    EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 0);
    EXPECT_EQ(test::Count(t, "SELECT count(*) FROM u"), 0) << "nothing of the transaction committed";
    EXPECT_EQ(test::Count(t, "SELECT count(*) FROM walferry.suspended_tables"), 0);
    EXPECT_EQ(test::Text(t, "SELECT task_status FROM walferry.status"), "FAILED");
    // The trouble over, the set goes on from the same transaction: nothing was skipped.
    t.Exec("DROP TRIGGER disk_trouble ON t");
    f.CatchUpExpectEqualAndDropSlot();
    EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 1);
  }
}

}  // namespace
}  // namespace walferry
