// Integration tests of the load's post-data while copying (load/early_post_data.h): a table's own indexes and keys
// are built as soon as its copy commits, the rest (foreign keys, triggers, partitioned indexes and their ATTACH)
// after every copy. Each test ends with source equal to target: every row (test::DiffTable) and every index,
// constraint, trigger, replica identity and index attachment the source has (PostDataObjects).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::ConnectSource;
using test::ConnectTarget;
using test::Count;

std::vector<std::string> LoadArgs(const std::string& db, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"load", "--source", test::Source().Uri(db), "--target", test::Target().Uri(db)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class LoadIndexes : public ::testing::Test {
 protected:
  void TearDown() override {
    test::Source().Psql("postgres",
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active;");
  }
};

// Every post-data object of the public schema as one text, one line each, names and definitions only (the same on
// both servers): indexes (with validity and replica identity), constraints (with validation), user triggers (not
// walferry's partition TRUNCATE trigger, which stays on the source), each table's replica identity, and every
// pg_inherits row (table inheritance, partitions, and partition indexes attached to their parent index).
std::string PostDataObjects(pg::Connection& c) {
  c.Exec("SET search_path = pg_catalog");
  std::string text = test::Text(c, R"SQL(
    SELECT coalesce(string_agg(x, E'\n' ORDER BY x), '') FROM (
      SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid || ' ri=' || i.indisreplident || ' clustered=' || i.indisclustered
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relnamespace = 'public'::regnamespace
      UNION ALL
      SELECT 'constraint ' || k.conrelid::regclass || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) ||
             ' validated=' || k.convalidated
        FROM pg_constraint k WHERE k.connamespace = 'public'::regnamespace AND k.conrelid <> 0
      UNION ALL
      SELECT 'trigger ' || pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
       WHERE c.relnamespace = 'public'::regnamespace AND NOT g.tgisinternal
         AND g.tgname <> 'walferry_partition_truncate'
      UNION ALL
      SELECT 'identity ' || c.oid::regclass || ' ' || c.relreplident::text FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      UNION ALL
      SELECT 'inherits ' || h.inhrelid::regclass || ' ' || h.inhparent::regclass FROM pg_inherits h
       JOIN pg_class c ON c.oid = h.inhrelid WHERE c.relnamespace = 'public'::regnamespace
    ) s(x))SQL");
  c.Exec("RESET search_path");
  return text;
}

void ExpectSameEverything(const std::string& db, const std::vector<std::string>& tables) {
  pg::Connection s = ConnectSource(db);
  pg::Connection t = ConnectTarget(db);
  for (const auto& table : tables) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  std::string source = PostDataObjects(s);
  EXPECT_NE(source, "");
  EXPECT_EQ(PostDataObjects(t), source);
}

// Small tables with every kind of a table's own post-data (primary key, unique constraint, exclusion constraint,
// plain and expression indexes, REPLICA IDENTITY USING INDEX, CLUSTER ON), what waits for every copy (a foreign key
// between two of them, a trigger, a NOT VALID check), a partitioned table (an index on the root attached to its
// partitions' indexes, a partition's own index, a key) and a legacy inheritance parent and child with their own
// keys; and `big` (`big_rows` rows of 500 bytes), still copying while the small tables are done.
std::string Schema(int big_rows) {
  return R"SQL(
    CREATE TABLE ref (id int PRIMARY KEY, code text UNIQUE);
    INSERT INTO ref SELECT g, 'c' || g FROM generate_series(1, 500) g;
    CREATE TABLE small (id int PRIMARY KEY, ref_id int REFERENCES ref (id), v text, r int4range,
                        EXCLUDE USING gist (r WITH &&));
    INSERT INTO small SELECT g, 1 + g % 500, md5(g::text), int4range(g * 10, g * 10 + 5) FROM generate_series(1, 2000) g;
    CREATE INDEX small_v ON small (v);
    CREATE INDEX small_lower ON small (lower(v)) WHERE id > 10;
    ALTER TABLE small ADD CONSTRAINT small_positive CHECK (id > 0) NOT VALID;
    CREATE TABLE ri (a int NOT NULL, b text NOT NULL, pad text);
    CREATE UNIQUE INDEX ri_ab ON ri (a, b);
    ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_ab;
    ALTER TABLE ri CLUSTER ON ri_ab;
    INSERT INTO ri SELECT g, 'b' || g, repeat('r', 50) FROM generate_series(1, 3000) g;
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := NEW.v; RETURN NEW; END$$;
    CREATE TRIGGER small_touch BEFORE UPDATE ON small FOR EACH ROW EXECUTE FUNCTION touch();
    CREATE TABLE measures (id int NOT NULL, at date NOT NULL, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    CREATE INDEX measures_v ON measures (v);
    CREATE INDEX measures_2026_own ON measures_2026 (v, id);
    INSERT INTO measures SELECT g, date '2025-01-01' + g % 700, g FROM generate_series(1, 5000) g;
    CREATE TABLE parent (id int PRIMARY KEY, v text);
    CREATE TABLE child (extra int) INHERITS (parent);
    ALTER TABLE child ADD PRIMARY KEY (id);
    CREATE INDEX child_extra ON child (extra);
    INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 1000) g;
    INSERT INTO child SELECT g, 'c' || g, g FROM generate_series(1001, 3000) g;
    CREATE TABLE big (id int PRIMARY KEY, pad text);
    CREATE INDEX big_pad ON big (left(pad, 10));
  )SQL" "INSERT INTO big SELECT g, repeat('x', 500) FROM generate_series(1, " + std::to_string(big_rows) + ") g;";
}

const std::vector<std::string> kTables = {"ref", "small", "ri", "measures", "ONLY parent", "child", "big"};

// Correctness whatever the timing: with two copy workers and two index workers, the target ends with every row and
// every post-data object of the source.
TEST_F(LoadIndexes, TheTargetHasEveryIndexAndConstraintOfTheSource) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, Schema(50000));
  test::CliResult r = test::RunWalferry(LoadArgs(db, {"--table-jobs", "2", "--index-jobs", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectSameEverything(db, kTables);
  pg::Connection t = ConnectTarget(db);
  EXPECT_EQ(test::Text(t, "SELECT load_state FROM walferry.sets"), "loaded");
}

// kill -9 while `big` still copies, once a small table's index built during the copies exists: the set is
// "loading", so --resume starts it over from a new snapshot (emptying the tables, whose indexes stay), keeps the
// indexes and keys the killed run built (by catalog: same name, same definition) and builds the rest.
TEST_F(LoadIndexes, KilledAfterSomeIndexesWereBuiltResumesAndKeepsThem) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, Schema(600000));
  pid_t pid = test::SpawnWalferry(LoadArgs(db, {"--table-jobs", "2", "--index-jobs", "2"}));
  ASSERT_GT(pid, 0);
  pg::Connection t = ConnectTarget(db);
  // Built while copying: small_v exists on the target while big's copy has not committed.
  bool overlapped = test::PollUntil([&] {
    return Count(t, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'small_v'") > 0 &&
           Count(t, "SELECT count(*) FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid "
                    "WHERE c.relname = 'big' AND p.tuples_processed > 1000") > 0;
  });
  ASSERT_TRUE(overlapped) << "no index of a copied table was built while big was still copying";
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  t.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
         "AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
  EXPECT_EQ(test::Text(t, "SELECT load_state FROM walferry.sets"), "loading");
  EXPECT_EQ(Count(t, "SELECT count(*) FROM big"), 0);
  // What waits for every copy was not built.
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conname = 'small_ref_id_fkey'"), 0);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_indexes WHERE indexname = 'measures_v'"), 0);

  test::CliResult r = test::RunWalferry(LoadArgs(db, {"--resume", "--table-jobs", "2", "--index-jobs", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Starting the set over"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the interrupted load had created"), std::string::npos) << r.output;
  ExpectSameEverything(db, kTables);
  EXPECT_EQ(test::Text(t, "SELECT load_state FROM walferry.sets"), "loaded");
}

}  // namespace
}  // namespace walferry
