// walferry cdc applies exactly what the source did, at the level of the statement and the target table:
// REPLICA IDENTITY FULL touches the one row IDENTICAL to the old tuple (not one that merely compares equal), also
// for types without `=`, and finds it by the target's unique key when there is one; a composite key works; UPDATE
// and DELETE of a legacy inheritance parent leave its children alone while a partitioned root keeps routing; a
// source column type the target cannot carry exactly stops the set naming both types. Each ends with source equal
// to target (and, where text equality would hide a difference, the exact values compared too).
#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

// Every row of `sql`, its columns joined by '|', rows by '\n'.
std::string Rows(pg::Connection& c, const std::string& sql) {
  pg::Result r = c.Exec(sql);
  std::string out;
  for (int i = 0; i < r.rows(); ++i) {
    for (int j = 0; j < r.cols(); ++j) out += (j ? "|" : "") + std::string(r.IsNull(i, j) ? "NULL" : r.Get(i, j));
    out += "\n";
  }
  return out;
}

// The same query on both sides gives the same rows.
void ExpectSameRows(const CdcFixture& f, const std::string& sql) {
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Rows(t, sql), Rows(s, sql)) << sql;
}

// Pairs of rows that compare equal (numeric 1.0 = 1.00, interval '1 day' = '24:00:00', float8 0 = -0, NFC = NFD
// under a nondeterministic collation, boxes and circles of the same area, paths of as many points, json) but are
// not identical; every other column is the same, so IS NOT DISTINCT FROM cannot tell the twins apart. The first
// of each pair is stored first, where a sequential scan finds it first. Every row twice: v 'orig' (to update) and
// v 'del' (to delete).
const char* kTwins = R"sql(
CREATE COLLATION nd (provider = icu, locale = 'und', deterministic = false);
CREATE TABLE twins (n numeric, i interval, f float8, s text COLLATE nd, b box, c circle, pa path, j json, v text);
ALTER TABLE twins REPLICA IDENTITY FULL;
INSERT INTO twins VALUES
  (1.0,  '1 hour',   5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (1.00, '1 hour',   5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 day',    5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '24:00:00', 5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   0,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   '-0',  'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     U&'\00E9',    '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     U&'e\0301',   '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(2,2),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(4,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(1,1),(0,0)', '<(0,0),1>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(1,1),(0,0)', '<(5,5),1>', '[(0,0),(1,1)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(3,3)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(4,4)]', '{}',        'orig'),
  (7,    '1 hour',   5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{"a":1}',   'orig'),
  (7,    '1 hour',   5,     'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{"a": 1}',  'orig'),
  (7,    '1 hour',   'NaN', 'x',          '(1,1),(0,0)', '<(9,9),2>', '[(0,0),(1,1)]', '{}',        'orig');
INSERT INTO twins SELECT n, i, f, s, b, c, pa, j, 'del' FROM twins;
)sql";

// Each twin's text, exact bytes for s: equal text here means identical values.
const char* kTwinsExact =
    "SELECT n::text, i::text, f::text, encode(convert_to(s, 'UTF8'), 'hex'), b::text, c::text, pa::text, j::text, v "
    "FROM twins ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9";

TEST(CdcExact, FullIdentityChangesTheIdenticalRowNotAnEqualTwin) {
  CdcFixture f = CdcFixture::Create("twins", kTwins, {"public.twins"});
  pg::Connection src = test::ConnectSource(f.db);
  // For each pair the second twin is updated (v 'orig') and deleted (v 'del'); exact text or bytes pick the row on
  // the source. (An UPDATE writes every column, so the twin it should have changed and the one it changed would
  // look the same afterwards if the same twin were also deleted.)
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"n::text = '1.00'", "n::text = '1.0'"},
      {"i::text = '24:00:00'", "i::text = '1 day'"},
      {"f::text = '-0'", "f::text = '0'"},
      {"convert_to(s, 'UTF8') = convert_to(U&'e\\0301', 'UTF8')", "convert_to(s, 'UTF8') = convert_to(U&'\\00E9', 'UTF8')"},
      {"b::text = '(4,1),(0,0)'", "b::text = '(2,2),(0,0)'"},
      {"c::text = '<(5,5),1>'", "c::text = '<(0,0),1>'"},
      {"pa::text = '[(0,0),(4,4)]'", "pa::text = '[(0,0),(3,3)]'"},
      {"j::text = '{\"a\": 1}'", "j::text = '{\"a\":1}'"},
  };
  for (const auto& [second, first] : pairs) {
    EXPECT_EQ(src.Exec("UPDATE twins SET v = 'second updated' WHERE v = 'orig' AND " + second).AffectedRows(), 1)
        << second;
    EXPECT_EQ(src.Exec("DELETE FROM twins WHERE v = 'del' AND " + second).AffectedRows(), 1) << second;
    EXPECT_EQ(src.Exec("SELECT 1 FROM twins WHERE " + first).rows(), 2) << first;  // its equal twin stays
  }
  src.Exec("UPDATE twins SET v = 'nan updated' WHERE f = 'NaN' AND v = 'orig'");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectSameRows(f, kTwinsExact);
  // Spot checks on the target: the identical twin was changed or deleted, its equal twin left as it was.
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Rows(t, "SELECT n::text, v FROM twins WHERE n::text LIKE '1.%' ORDER BY v COLLATE \"C\""),
            "1.0|del\n1.0|orig\n1.00|second updated\n");
  EXPECT_EQ(Rows(t, "SELECT f::text, v FROM twins WHERE f IN (0, 'NaN') ORDER BY v COLLATE \"C\", f::text COLLATE \"C\""),
            "0|del\nNaN|del\nNaN|nan updated\n0|orig\n-0|second updated\n");
  EXPECT_EQ(Rows(t, "SELECT encode(convert_to(s, 'UTF8'), 'hex'), v FROM twins WHERE s COLLATE \"C\" <> 'x' "
                    "ORDER BY v COLLATE \"C\""),
            "c3a9|del\nc3a9|orig\n65cc81|second updated\n");
  f.CatchUpExpectEqualAndDropSlot();
}

TEST(CdcExact, FullIdentityWorksForTypesWithoutEquality) {
  CdcFixture f = CdcFixture::Create("noeq", R"sql(
CREATE TABLE noeq (jp jsonpath, x xml, p point, j json, v text);
ALTER TABLE noeq REPLICA IDENTITY FULL;
INSERT INTO noeq VALUES ('$.a', '<a/>', '(1,2)', '{"k": 1}', 'one'), ('$.b', '<b/>', '(3,4)', '{"k": 2}', 'two'),
                        ('$.a', '<a/>', '(1,2)', '{"k": 1}', 'one');
)sql",
                                    {"public.noeq"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("UPDATE noeq SET v = 'two updated' WHERE v = 'two'");
  src.Exec("DELETE FROM noeq WHERE ctid = (SELECT ctid FROM noeq WHERE v = 'one' LIMIT 1)");  // one of two duplicates
  src.Exec("UPDATE noeq SET jp = '$.c', p = '(5,6)' WHERE v = 'one'");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectSameRows(f, "SELECT jp::text, x::text, p::text, j::text, v FROM noeq ORDER BY 5, 1");
  f.CatchUpExpectEqualAndDropSlot();
}

// Scans of `table` on the target as pg_stat_user_tables counts them: {seq_scan, idx_scan}.
std::pair<int64_t, int64_t> Scans(const CdcFixture& f, const std::string& table) {
  pg::Connection t = test::ConnectTarget(f.db);
  pg::Result r = t.Exec("SELECT seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1", {table});
  return {r.GetInt(0, 0), r.GetInt(0, 1)};
}

TEST(CdcExact, FullIdentityFindsTheRowByTheTargetsPrimaryKeyAndStillComparesTheOldImage) {
  CdcFixture f = CdcFixture::Create("fullkey", R"sql(
CREATE TABLE fk (id int PRIMARY KEY, v text, n numeric);
ALTER TABLE fk REPLICA IDENTITY FULL;
INSERT INTO fk SELECT g, 'r' || g, 1.0 FROM generate_series(1, 2000) g;
)sql",
                                    {"public.fk"}, "ANALYZE fk");
  // The statistics of the session that created and filled the table are flushed when it ends: wait for them.
  pg::Connection t = test::ConnectTarget(f.db);
  ASSERT_TRUE(test::PollUntil(
      [&] {
        return t.Exec("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'fk'").Get(0, 0) == "2000";
      },
      std::chrono::seconds(30)));
  auto [seq0, idx0] = Scans(f, "fk");
  pg::Connection src = test::ConnectSource(f.db);
  for (int i = 1; i <= 40; ++i) src.Exec("UPDATE fk SET v = 'u' || id, n = 1.00 WHERE id = $1", {std::to_string(i)});
  for (int i = 41; i <= 80; ++i) src.Exec("DELETE FROM fk WHERE id = $1", {std::to_string(i)});
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Every one of the 80 statements found its row through the index (the apply session's statistics arrive when
  // it ends); not one read the table sequentially.
  int64_t seq = 0, idx = 0;
  bool counted = test::PollUntil(
      [&] {
        std::tie(seq, idx) = Scans(f, "fk");
        return (seq - seq0) + (idx - idx0) >= 80;
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(counted) << "seq_scan " << seq - seq0 << ", idx_scan " << idx - idx0;
  EXPECT_EQ(seq - seq0, 0);
  ExpectSameRows(f, "SELECT id, v, n::text FROM fk WHERE id <= 100 ORDER BY id");
  // The key finds the row, the old image must still be identical: a target row that differs (here numeric scale
  // only) matches nothing and stops the set.
  t.Exec("UPDATE fk SET n = 1.000 WHERE id = 100");
  src.Exec("UPDATE fk SET v = 'changed' WHERE id = 100");
  r = f.Cdc();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("0 target rows matched"), std::string::npos) << r.output;
  t.Exec("UPDATE fk SET n = 1.0 WHERE id = 100");
  f.CatchUpExpectEqualAndDropSlot();
  ExpectSameRows(f, "SELECT id, v, n::text FROM fk WHERE id >= 95 AND id <= 105 ORDER BY id");
}

TEST(CdcExact, CompositeKeyColumnsAreTypedParameters) {
  CdcFixture f = CdcFixture::Create("compkey", R"sql(
CREATE TYPE "Pair" AS (a int, b text);
CREATE TABLE ck (k "Pair" PRIMARY KEY, v text);
CREATE TABLE ckf (k "Pair", v text);
ALTER TABLE ckf REPLICA IDENTITY FULL;
)sql",
                                    {"public.ck", "public.ckf"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO ck VALUES ('(1,x)', 'a'), ('(2,\"y z\")', 'b'), ('(3,)', 'c')");
  src.Exec("INSERT INTO ckf VALUES ('(1,x)', 'a'), ('(2,y)', 'b')");
  src.Exec("UPDATE ck SET v = 'a2' WHERE (k).a = 1");
  src.Exec("UPDATE ck SET k = '(20,w)' WHERE (k).a = 2");
  src.Exec("DELETE FROM ck WHERE (k).a = 3");
  src.Exec("UPDATE ckf SET v = 'a2' WHERE (k).a = 1");
  src.Exec("DELETE FROM ckf WHERE (k).a = 2");
  f.CatchUpExpectEqualAndDropSlot();
}

TEST(CdcExact, InheritanceParentChangesLeaveChildrenAloneWhilePartitionedRootsRoute) {
  CdcFixture f = CdcFixture::Create("inherit", R"sql(
CREATE TABLE inh (id int PRIMARY KEY, v text);
CREATE TABLE inh_child (extra int) INHERITS (inh);
ALTER TABLE inh_child ADD PRIMARY KEY (id);
INSERT INTO inh VALUES (1, 'parent'), (2, 'parent');
INSERT INTO inh_child VALUES (1, 'child', 0), (2, 'child', 0);
CREATE TABLE inhf (id int, v text);
ALTER TABLE inhf REPLICA IDENTITY FULL;
CREATE TABLE inhf_child () INHERITS (inhf);
ALTER TABLE inhf_child REPLICA IDENTITY FULL;
INSERT INTO inhf VALUES (1, 'same');
INSERT INTO inhf_child VALUES (1, 'same');
CREATE TABLE parted (id int, region int, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE parted_0 PARTITION OF parted FOR VALUES IN (0);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1);
)sql",
                                    {"public.inh", "public.inh_child", "public.inhf", "public.inhf_child",
                                     "public.parted"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("UPDATE ONLY inh SET v = 'parent updated' WHERE id = 1");
  src.Exec("DELETE FROM ONLY inh WHERE id = 2");
  src.Exec("UPDATE inh_child SET v = 'child updated' WHERE id = 2");
  src.Exec("DELETE FROM ONLY inhf WHERE id = 1");
  src.Exec("UPDATE inhf_child SET v = 'child updated'");
  src.Exec("INSERT INTO parted VALUES (1, 0, 'a'), (2, 0, 'b'), (3, 1, 'c')");
  src.Exec("UPDATE parted SET region = 1, v = 'moved' WHERE id = 1");  // moves between partitions
  src.Exec("UPDATE parted SET v = 'b2' WHERE id = 2");
  src.Exec("DELETE FROM parted WHERE id = 3");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const char* exact =
      "SELECT tableoid::regclass::text, * FROM inh UNION ALL SELECT tableoid::regclass::text, id, v FROM inhf "
      "UNION ALL SELECT tableoid::regclass::text, id, v FROM parted ORDER BY 1, 2";
  ExpectSameRows(f, exact);
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Rows(t, "SELECT id, v FROM inh_child ORDER BY id"), "1|child\n2|child updated\n");
  f.CatchUpExpectEqualAndDropSlot();
}

TEST(CdcExact, SourceColumnTypeTheTargetCannotCarryStopsNamingBothTypes) {
  CdcFixture f = CdcFixture::Create("typechange",
                                    "CREATE TABLE tc (id int PRIMARY KEY, n numeric(10,2), small int2, w varchar(5))",
                                    {"public.tc"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO tc VALUES (1, 1.25, 1, 'ab')");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A lossless change: the target column already holds every int4 (the target was widened first).
  test::Target().Psql(f.db, "ALTER TABLE tc ALTER COLUMN small TYPE int4");
  src.Exec("ALTER TABLE tc ALTER COLUMN small TYPE int4");
  src.Exec("INSERT INTO tc VALUES (2, 2.50, 70000, 'cd')");
  r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // numeric(12,4) values would be rounded by the target's numeric(10,2): stop, never round.
  src.Exec("ALTER TABLE tc ALTER COLUMN n TYPE numeric(12,4)");
  src.Exec("INSERT INTO tc VALUES (3, 1.2345, 3, 'ef')");
  r = f.Cdc();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("public.tc.n: source type numeric(12,4), target type numeric(10,2)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("ALTER COLUMN \"n\" TYPE numeric(12,4)"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(Rows(t, "SELECT id, n::text FROM tc ORDER BY id"), "1|1.25\n2|2.50\n");  // nothing rounded
  // The fix the error names; the rerun applies the row exactly.
  test::Target().Psql(f.db, "ALTER TABLE tc ALTER COLUMN n TYPE numeric(12,4)");
  f.CatchUpExpectEqualAndDropSlot();
  EXPECT_EQ(Rows(t, "SELECT n::text FROM tc WHERE id = 3"), "1.2345\n");
}

}  // namespace
}  // namespace walferry
