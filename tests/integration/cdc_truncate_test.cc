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

// With publish_via_partition_root pgoutput sends nothing for a truncated partition; walferry's trigger on each
// leaf partition announces it (control/truncate_capture.h). Without it the target kept p1's and p3a's rows.
TEST(CdcTruncate, ATruncateOfOnePartitionIsCarried) {
  CdcFixture f = CdcFixture::Create(
      "trpart",
      "CREATE TABLE p (id int PRIMARY KEY, v text) PARTITION BY RANGE (id); "
      "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100); "
      "CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (200); "
      "CREATE TABLE p3 PARTITION OF p FOR VALUES FROM (200) TO (400) PARTITION BY RANGE (id); "
      "CREATE TABLE p3a PARTITION OF p3 FOR VALUES FROM (200) TO (300); "
      "CREATE TABLE p3b PARTITION OF p3 FOR VALUES FROM (300) TO (400); "
      "CREATE TABLE \"Q\" (id int PRIMARY KEY) PARTITION BY LIST (id); "
      "CREATE TABLE \"Q one\" PARTITION OF \"Q\" FOR VALUES IN (1); "
      "CREATE TABLE \"Q two\" PARTITION OF \"Q\" FOR VALUES IN (2)",
      {"public.p", "public.\"Q\""});
  pg::Connection src = test::ConnectSource(f.db);
  EXPECT_EQ(src.Exec("SELECT count(*) FROM pg_trigger WHERE tgname = 'walferry_partition_truncate'").GetInt(0, 0), 6)
      << "one trigger on each leaf partition (p1, p2, p3a, p3b, \"Q one\", \"Q two\"), none on p or p3";
  src.Exec("INSERT INTO p SELECT g, 'v' || g FROM generate_series(0, 398, 2) g; INSERT INTO \"Q\" VALUES (1), (2)");
  // By a role that may only truncate p1: it needs no right on walferry's schema nor to emit logical messages.
  src.Exec("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'truncator') THEN "
           "CREATE ROLE truncator; END IF; END$$; GRANT TRUNCATE ON p1 TO truncator");
  src.Exec("SET ROLE truncator; TRUNCATE p1; RESET ROLE");
  // In one transaction, in its order: the new rows of p3a stay.
  src.Exec("BEGIN; INSERT INTO p VALUES (251, 'gone'); TRUNCATE p3; INSERT INTO p VALUES (253, 'kept'); COMMIT");
  src.Exec("TRUNCATE \"Q two\"");
  // A truncate that rolls back is never sent.
  src.Exec("BEGIN; TRUNCATE p2; ROLLBACK");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Count(t, "p1"), 0);
  EXPECT_EQ(Count(t, "p2"), 50);
  EXPECT_EQ(t.Exec("SELECT string_agg(v, ',' ORDER BY id) FROM p3").Get(0, 0), "kept");
  EXPECT_EQ(Count(t, "\"Q\""), 1);
  f.ExpectEqual();
  // A partition attached later gets its trigger at the next CDC start; then its TRUNCATE is carried as well.
  src.Exec("CREATE TABLE p4 (id int PRIMARY KEY, v text)");
  test::Target().Psql(f.db, "CREATE TABLE p4 (id int PRIMARY KEY, v text); "
                            "ALTER TABLE p ATTACH PARTITION p4 FOR VALUES FROM (400) TO (500)");
  src.Exec("ALTER TABLE p ATTACH PARTITION p4 FOR VALUES FROM (400) TO (500)");
  src.Exec("INSERT INTO p VALUES (401, 'x'), (402, 'y')");
  r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Count(t, "p4"), 2);
  src.Exec("TRUNCATE p4; TRUNCATE p");  // the root too: every partition, once more, changes nothing
  src.Exec("INSERT INTO p VALUES (5, 'after')");
  f.CatchUpExpectEqualAndDropSlot();
  EXPECT_EQ(Count(t, "p"), 1);
}

// Through walferry load: the triggers exist before the slot (a partition truncated right after the load's
// snapshot is carried) and stay on the source: the target's copy of the partitions has none.
TEST(CdcTruncate, TheLoadInstallsTheTriggersOnTheSourceOnly) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE m (id int PRIMARY KEY, v text) PARTITION BY RANGE (id); "
                          "CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (100); "
                          "CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (100) TO (200); "
                          "CREATE TRIGGER users_own AFTER TRUNCATE ON m1 FOR EACH STATEMENT "
                          "EXECUTE FUNCTION suppress_redundant_updates_trigger(); "
                          "INSERT INTO m SELECT g, 'v' || g FROM generate_series(0, 199) g");
  std::vector<std::string> conn = {"--source", test::Source().Uri(db), "--target", test::Target().Uri(db)};
  std::vector<std::string> load = {"load"};
  load.insert(load.end(), conn.begin(), conn.end());
  test::CliResult r = test::RunWalferry(load);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  const std::string triggers = "SELECT string_agg(tgname || ' on ' || tgrelid::regclass::text, ', ' ORDER BY 1) "
                               "FROM pg_trigger WHERE NOT tgisinternal";
  EXPECT_EQ(src.Exec(triggers).Get(0, 0),
            "users_own on m1, walferry_partition_truncate on m1, walferry_partition_truncate on m2");
  EXPECT_EQ(t.Exec(triggers).Get(0, 0), "users_own on m1") << "the user's trigger is copied, walferry's is not";
  src.Exec("TRUNCATE m2");
  std::vector<std::string> cdc = {"cdc", "--until-caught-up"};
  cdc.insert(cdc.end(), conn.begin(), conn.end());
  r = test::RunWalferry(cdc);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Count(t, "m2"), 0);
  EXPECT_EQ(test::DiffTable(src, t, "public.m"), "");
  auto repl = pg::ReplicationConnection::Open(test::Source().Uri(db));
  repl.DropSlot("walferry_default", true);
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

// Every slot of the database receives the partition-truncate trigger's logical messages, whatever its
// publication: a set's worker applies only those about partitions of its own set's tables. Without the filter,
// set "other" (which owns none of tab3) emptied tab3's partitions at its own, later, stream position, after the
// owning set had applied the inserts that followed the TRUNCATE: target 0 rows, source 2. With two partitioned
// tables in two sets, a partition truncated in each, each set applies only its own.
TEST(CdcTruncate, APartitionTruncateIsAppliedOnlyByTheSetThatOwnsThePartition) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE tab3 (id int PRIMARY KEY, v text) PARTITION BY HASH (id); "
                          "CREATE TABLE tab3_0 PARTITION OF tab3 FOR VALUES WITH (MODULUS 2, REMAINDER 0); "
                          "CREATE TABLE tab3_1 PARTITION OF tab3 FOR VALUES WITH (MODULUS 2, REMAINDER 1); "
                          "CREATE TABLE m (id int PRIMARY KEY, v text) PARTITION BY RANGE (id); "
                          "CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (100); "
                          "CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (100) TO (200); "
                          "CREATE TABLE other (id int PRIMARY KEY); "
                          "INSERT INTO tab3 VALUES (10, 'old'), (11, 'old'); INSERT INTO m VALUES (1, 'old'), (150, 'k')");
  const std::string config = test::WriteConfig(db, R"yaml(sets:
  - name: owner
    tables:
      - name: public.tab3
  - name: other
    tables:
      - name: public.other
      - name: public.m
)yaml");
  test::CliResult r = test::RunWalferry({"load", "-c", config});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(db);
  src.Exec("TRUNCATE tab3; INSERT INTO tab3 VALUES (1, 'a'), (2, 'b')");
  // Two partitions of tables in different sets, in one transaction, each followed by new rows.
  src.Exec("BEGIN; TRUNCATE m1; TRUNCATE tab3_0; INSERT INTO m VALUES (2, 'm'); INSERT INTO tab3 VALUES (3, 'c'), "
           "(4, 'd'), (5, 'e'); COMMIT");
  src.Exec("INSERT INTO other VALUES (1)");
  // One set after the other, so that each set's position passes the other's inserts deterministically; then both.
  for (const std::vector<std::string>& sets :
       std::vector<std::vector<std::string>>{{"--set", "owner"}, {"--set", "other"}, {}}) {
    std::vector<std::string> args = {"-c", config, "cdc", "--until-caught-up"};
    args.insert(args.end(), sets.begin(), sets.end());
    r = test::RunWalferry(args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "tab3"), Count(src, "tab3"));
  EXPECT_EQ(Count(t, "m1"), 1);
  for (const char* table : {"public.tab3", "public.m", "public.other"}) {
    EXPECT_EQ(test::DiffTable(src, t, table), "") << table;
  }
  r = test::RunWalferry({"-c", config, "cleanup"});  // the slots, publications and triggers
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace walferry
