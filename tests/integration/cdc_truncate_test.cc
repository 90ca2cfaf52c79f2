// TRUNCATE through CDC: the target empties exactly the tables the source emptied (pgoutput lists each of them,
// also those a CASCADE reached), never a legacy-inheritance child the source kept, never a target-only table;
// partitioned roots still work; under suspend-table a TRUNCATE naming a suspended table still empties the others,
// and a refused TRUNCATE is charged to the table the target refused.
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

int64_t Count(pg::Connection& c, const std::string& table) {
  return c.Exec("SELECT count(*) FROM " + table).GetInt(0, 0);
}

TEST(CdcTruncate, TruncateOnlyOfAnInheritanceParentKeepsItsChildrenAndAPartitionedRootEmptiesItsPartitions) {
  CdcFixture f = CdcFixture::Create(
      "trinh",
      "CREATE TABLE parent (id int PRIMARY KEY, v text); CREATE TABLE child (extra int) INHERITS (parent); "
      "ALTER TABLE child ADD PRIMARY KEY (id); "
      "CREATE TABLE p (id int PRIMARY KEY, v text) PARTITION BY RANGE (id); "
      "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100); "
      "CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (200)",
      {"public.parent", "public.child", "public.p"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO parent VALUES (1, 'a'); INSERT INTO child VALUES (2, 'b', 7); "
           "INSERT INTO p VALUES (1, 'x'), (150, 'y')");
  // The source keeps child's row: only parent's own rows go.
  src.Exec("TRUNCATE ONLY parent");
  src.Exec("TRUNCATE p");
  src.Exec("INSERT INTO parent VALUES (3, 'c'); INSERT INTO p VALUES (5, 'z')");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Count(t, "ONLY child"), 1);
  EXPECT_EQ(Count(t, "ONLY parent"), 1);
  EXPECT_EQ(Count(t, "p"), 1);
  // A TRUNCATE of the parent without ONLY empties both on the source; pgoutput names both.
  src.Exec("TRUNCATE parent");
  f.CatchUpExpectEqualAndDropSlot();
  EXPECT_EQ(Count(t, "parent"), 0);
}

TEST(CdcTruncate, TruncateCascadeEmptiesOnlyTheListedTablesAndATargetForeignKeyStopsLoudly) {
  CdcFixture f = CdcFixture::Create(
      "trcasc", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a)",
      {"public.a", "public.b"},
      // Only on the target: a table outside the set that references a.
      "CREATE TABLE keep (id int PRIMARY KEY, a_id int REFERENCES a); INSERT INTO keep VALUES (7, NULL)");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO a VALUES (1); INSERT INTO b VALUES (1, 1)");
  src.Exec("TRUNCATE a CASCADE");  // reaches b: pgoutput lists a and b
  src.Exec("INSERT INTO a VALUES (2)");
  test::CliResult r = f.Cdc();
  EXPECT_NE(r.exit_code, 0) << "emptying a while keep references it needs CASCADE, which would empty keep";
  EXPECT_NE(r.output.find("foreign key"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Count(t, "keep"), 1);
  // The operator's fix (docs/cdc.md "TRUNCATE"): the target-only reference goes; the TRUNCATE then applies.
  t.Exec("ALTER TABLE keep DROP CONSTRAINT keep_a_id_fkey");
  f.CatchUpExpectEqualAndDropSlot();
  EXPECT_EQ(Count(t, "keep"), 1);
}

TEST(CdcTruncate, SuspendTableTruncatesTheOtherTablesAndChargesARefusedTruncateToTheRefusedTable) {
  CdcFixture f = CdcFixture::Create(
      "trsusp", "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY)", {"public.t", "public.u"},
      // Only on the target: u cannot be truncated alone.
      "CREATE TABLE w (u_id int REFERENCES u)");
  f.AppendConfig("cdc:\n  error_policy: suspend-table\n");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t VALUES (1); INSERT INTO u VALUES (1)");
  src.Exec("TRUNCATE t, u");
  src.Exec("INSERT INTO t VALUES (2); INSERT INTO u VALUES (2)");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  pg::Result susp = t.Exec("SELECT table_name FROM walferry.suspended_tables ORDER BY 1");
  ASSERT_EQ(susp.rows(), 1);
  EXPECT_EQ(susp.Get(0, 0), "u");
  EXPECT_EQ(test::DiffTable(src, t, "public.t"), "");  // t was truncated, then got row 2
  EXPECT_EQ(t.Exec("SELECT string_agg(id::text, ',' ORDER BY id) FROM u").Get(0, 0), "1");
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.apply_exceptions WHERE table_name = 'u' AND statement LIKE "
                   "'TRUNCATE%'").GetInt(0, 0), 2)
      << "the refused TRUNCATE (the cause), then u's part of it not applied";
  // The operator's fix: reload u, lift the suspension; both tables are equal again.
  t.Exec("DROP TABLE w");
  t.Exec("TRUNCATE u");
  t.Exec("INSERT INTO u VALUES (2)");
  t.Exec("DELETE FROM walferry.suspended_tables");
  src.Exec("INSERT INTO u VALUES (3)");
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
