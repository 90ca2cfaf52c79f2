// Where two sets meet in CDC: a TRUNCATE ... CASCADE of a table whose referencing table is in another set (found by
// the scenario matrix, seed 12). Each set's stream lists only its own tables, so the referenced table's set gets
// "TRUNCATE a" alone, which the target refuses while b (another set's table) references a; the other set empties b
// at its own position. Ends with source equal to target.
#include <gtest/gtest.h>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;

TEST(CdcSets, TruncateCascadeOfATableReferencedFromAnotherSetIsApplied) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db,
                      "CREATE TABLE a (id int PRIMARY KEY, v text); "
                      "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a ON DELETE CASCADE, v text); "
                      "INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 20) g; "
                      "INSERT INTO b SELECT g, g, 'b' || g FROM generate_series(1, 20) g");
  std::string config = test::WriteConfig(db,
                                         "sets:\n"
                                         "  - name: fkref_a\n    tables:\n      - name: public.a\n"
                                         "  - name: fkref_b\n    tables:\n      - name: public.b\n");
  test::CliResult r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(db);
  src.Exec("INSERT INTO a VALUES (21, 'late'); INSERT INTO b VALUES (21, 21, 'late')");
  src.Exec("TRUNCATE a CASCADE");  // reaches b: set fkref_a's stream lists a, set fkref_b's lists b
  src.Exec("INSERT INTO a VALUES (30, 'after'); INSERT INTO b VALUES (30, 30, 'after'), (31, NULL, 'orphan')");
  src.Exec("UPDATE a SET v = 'changed' WHERE id = 30");
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(src, t, "public.a"), "");
  EXPECT_EQ(test::DiffTable(src, t, "public.b"), "");
  EXPECT_EQ(Count(t, "SELECT count(*) FROM a"), 1);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM b"), 2);
  // The foreign key is still there on the target, and holds.
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'b'::regclass AND contype = 'f'"), 1);
  EXPECT_EQ(test::RunWalferry({"-c", config, "cleanup"}).exit_code, 0);
}

}  // namespace
}  // namespace walferry
