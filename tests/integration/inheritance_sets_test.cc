// Legacy inheritance across replication sets: a parent in one set, its children in another. CREATE PUBLICATION
// ... FOR TABLE parent publishes every descendant unless it says ONLY, so a child's changes came through both
// slots and were applied twice (a keyed child failed its set with a duplicate key, a keyless child got silent
// duplicates). Also: a publication made that way by an older walferry is refused by CDC before it applies
// anything. Each test ends with source equal to target.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;

const char* kSchema =
    "CREATE TABLE parent (id int PRIMARY KEY, v text); "
    "CREATE TABLE kchild (extra int) INHERITS (parent); ALTER TABLE kchild ADD PRIMARY KEY (id); "
    "CREATE TABLE nchild (note text) INHERITS (parent); ALTER TABLE nchild REPLICA IDENTITY FULL; "
    "INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 100) g; "
    "INSERT INTO kchild SELECT g, 'k' || g, g FROM generate_series(101, 200) g; "
    "INSERT INTO nchild SELECT g % 10, 'n', 'dup' FROM generate_series(1, 50) g";  // keyless: duplicate rows

// Set "parents" holds the parent, set "children" both children.
std::string Config(const std::string& db) {
  return test::WriteConfig(db, "sets:\n"
                               "  - name: parents\n    apply: transactional\n    tables:\n"
                               "      - name: public.parent\n"
                               "  - name: children\n    apply: transactional\n    tables:\n"
                               "      - name: public.kchild\n"
                               "      - name: public.nchild\n");
}

// Changes to every table, each kind of change, through the parent and through the children.
void Write(pg::Connection& s) {
  s.Exec("INSERT INTO parent VALUES (1001, 'new parent')");
  s.Exec("INSERT INTO kchild VALUES (1002, 'new kchild', 7)");
  s.Exec("INSERT INTO nchild VALUES (3, 'n', 'dup'), (1003, 'new nchild', 'x')");
  s.Exec("UPDATE parent SET v = v || '+' WHERE id % 7 = 0");  // reaches the children's rows too
  s.Exec("UPDATE ONLY kchild SET extra = extra + 1 WHERE id % 3 = 0");
  s.Exec("UPDATE nchild SET note = 'changed' WHERE id = 1003");
  s.Exec("DELETE FROM parent WHERE id IN (5, 150)");  // one parent row, one kchild row
  s.Exec("DELETE FROM nchild WHERE id = 4");
}

void ExpectSame(const std::string& db) {
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  for (const char* table : {"ONLY parent", "kchild", "nchild"}) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
}

void DropSlots(const std::string& db) {
  pg::Connection s = test::ConnectSource(db);
  s.Exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()");
}

// A fresh database with kSchema on the source, loaded by walferry into both sets.
void Loaded(std::string& db, std::string& config) {
  db = test::FreshDatabase();
  test::Source().Psql(db, kSchema);
  config = Config(db);
  test::CliResult r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(InheritanceSets, ParentAndChildrenInDifferentSetsAreAppliedOnceEach) {
  std::string db, config;
  ASSERT_NO_FATAL_FAILURE(Loaded(db, config));
  test::CliResult r;
  pg::Connection s = test::ConnectSource(db);
  // The parent's publication holds the parent alone.
  EXPECT_EQ(test::Text(s, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables "
                          "WHERE pubname = 'walferry_parents'"),
            "parent");
  Write(s);
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM nchild WHERE id = 3"), 6) << "five loaded and one inserted, no more";
  EXPECT_EQ(Count(t, "SELECT count(*) FROM nchild WHERE id = 1003 AND note = 'changed'"), 1);
  ExpectSame(db);
  DropSlots(db);
}

// A set loaded by an older walferry: its publication was made without ONLY and so holds the children of another
// set. CDC refuses it before applying anything, names the table, and says what to do.
TEST(InheritanceSets, CdcRefusesAPublicationHoldingTablesOutsideItsSet) {
  std::string db, config;
  ASSERT_NO_FATAL_FAILURE(Loaded(db, config));
  test::CliResult r;
  pg::Connection s = test::ConnectSource(db);
  // What an older walferry created: FOR TABLE parent, which added both children (SET TABLE without ONLY recurses
  // the same way).
  s.Exec("ALTER PUBLICATION walferry_parents SET TABLE parent");
  ASSERT_EQ(Count(s, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'walferry_parents'"), 3);
  Write(s);
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up", "--set", "parents"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("public.kchild"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("walferry reset --yes"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM ONLY parent WHERE id = 1001"), 0) << "nothing applied";
  // The fix the message gives: the sets loaded again, with a publication that holds the parent alone. (restart
  // --set parents cannot: the target's children depend on the parent it would drop.)
  r = test::RunWalferry({"-c", config, "reset", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'walferry_parents'"), 1);
  s.Exec("INSERT INTO kchild VALUES (1004, 'after the restart', 1); UPDATE parent SET v = 'last' WHERE id = 1");
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectSame(db);
  DropSlots(db);
}

// walferry restart of the set that holds the parent drops the parent on the target, and with it would go the
// children another set streams into: refused before anything changes (it failed with 2BP01 after dropping the
// set's slot), naming the children. Restarting the children's set works while the parent's set streams.
TEST(InheritanceSets, RestartOfAParentsSetIsRefusedBeforeAnyChangeAndAChildrensSetIsLoadedAgain) {
  std::string db, config;
  ASSERT_NO_FATAL_FAILURE(Loaded(db, config));
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  Write(s);
  test::CliResult r = test::RunWalferry({"-c", config, "restart", "--set", "parents"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("public.kchild"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("public.nchild"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("inherit"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing was changed"), std::string::npos) << r.output;
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_parents'"), 1)
      << "the set's slot is kept";
  EXPECT_EQ(Count(t, "SELECT count(*) FROM walferry.sets WHERE set_name = 'parents'"), 1);
  // The children's set loads again while the parent's keeps its slot and position.
  r = test::RunWalferry({"-c", config, "restart", "--set", "children"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.parent'::regclass"), 2)
      << "the children inherit from the parent again on the target";
  s.Exec("INSERT INTO kchild VALUES (1005, 'after the restart', 2); UPDATE parent SET v = 'late' WHERE id = 2");
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ExpectSame(db);
  DropSlots(db);
}

}  // namespace
}  // namespace walferry
