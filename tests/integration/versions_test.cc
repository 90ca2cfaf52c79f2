// A migration between two different major versions, through plan, load, CDC, validate and the cutover: by
// default a PostgreSQL 12 source to the system's PostgreSQL 15 target (the oldest version walferry serves; 12 has
// no max_slot_wal_keep_size, no publish_via_partition_root, no logical messages). WALFERRY_TEST_SOURCE_VERSION /
// WALFERRY_TEST_TARGET_VERSION run the same tests on another pair (e.g. 15 -> 17); scripts/deps.sh installs the
// servers (docs/testing.md). The migration covers a keyed table, a keyless REPLICA IDENTITY FULL table with
// duplicate rows, TOAST values (changed and unchanged), a sequence and large objects, and ends with source equal
// to target. Also: the way back (cutover --fallback to the older server, then --switch-back), and what 12 cannot
// do refused clearly (partitioned tables; --from-standby before 14).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;
using test::Text;

const bool kVersions = test::SetDefaultClusterVersions(12, 15);

const char* kSchema =
    "CREATE TABLE orders (id bigserial PRIMARY KEY, v text, doc text); "
    "CREATE TABLE events (kind text, payload text); ALTER TABLE events REPLICA IDENTITY FULL; "
    "CREATE SEQUENCE tickets START 100; "
    "CREATE TABLE docs (id int PRIMARY KEY, lo oid); "
    // doc: TOAST values (large and not compressible: md5 chains).
    "INSERT INTO orders (v, doc) SELECT 'o' || g, (SELECT string_agg(md5(g::text || x::text), '') "
    "                                              FROM generate_series(1, 200) x) FROM generate_series(1, 200) g; "
    "INSERT INTO events SELECT 'k' || (g % 5), 'same' FROM generate_series(1, 50) g; "
    "SELECT nextval('tickets') FROM generate_series(1, 3); "
    "INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc' || g, 1000), 'UTF8')) "
    "FROM generate_series(1, 3) g";

// Every kind of change: inserts with TOAST values, updates that leave the TOAST value unchanged (pgoutput sends
// it as 'u') and that change it, deletes, keyless duplicates inserted and deleted, the sequence, large objects.
void Write(pg::Connection& s, int round) {
  const std::string r = std::to_string(round);
  s.Exec("INSERT INTO orders (v, doc) SELECT 'w" + r + "', repeat(md5(g::text), 300) FROM generate_series(1, 20) g");
  s.Exec("UPDATE orders SET v = v || '+' WHERE id % 10 = " + r);
  s.Exec("UPDATE orders SET doc = repeat(md5(id::text || 'r" + r + "'), 250) WHERE id % 17 = " + r);
  s.Exec("DELETE FROM orders WHERE id % 23 = " + r);
  s.Exec("INSERT INTO events VALUES ('k1', 'same'), ('k1', 'same'), ('new" + r + "', repeat('e', 5000))");
  s.Exec("DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE kind = 'k" + std::to_string(round % 5) +
         "' LIMIT 1)");
  s.Exec("UPDATE events SET payload = 'changed' WHERE kind = 'k2'");
  s.Exec("SELECT nextval('tickets') FROM generate_series(1, 5)");
  s.Exec("INSERT INTO docs VALUES (100 + " + r + ", lo_from_bytea(0, '\\x0001ff'::bytea || '" + r + "'::bytea))");
  s.Exec("SELECT lo_put(lo, 0, '\\x42'::bytea) FROM docs WHERE id = 1");
}

void ExpectSame(const std::string& db) {
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  for (const char* table : {"orders", "events", "docs"}) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  const std::string seq = "SELECT last_value || '/' || is_called FROM tickets";
  EXPECT_EQ(Text(s, seq), Text(t, seq));
  const std::string los = "SELECT coalesce(string_agg(m.oid::text || ':' || md5(lo_get(m.oid)), ',' ORDER BY m.oid), "
                          "'') FROM pg_largeobject_metadata m";
  EXPECT_EQ(Text(s, los), Text(t, los));
}

TEST(Versions, AMigrationAcrossMajorVersionsRunsThroughTheCutover) {
  const int source_major = test::Source().major();
  const int target_major = test::Target().major();
  std::cout << "[ versions ] source PostgreSQL " << source_major << " -> target PostgreSQL " << target_major << "\n";
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kSchema);
  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT current_setting('server_version_num')::int / 10000"), source_major);

  const std::string config = test::WriteConfig(db, "");  // replaced by plan's
  test::CliResult r = test::RunWalferry({"plan", "--source", test::Source().Uri(db), "--target",
                                         test::Target().Uri(db), "--sets", "2", "--out", config, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM orders"), 200);

  for (int round = 1; round <= 3; ++round) Write(s, round);
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::RunWalferry({"-c", config, "validate", "--wait-seconds", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.output;

  Write(s, 4);  // left for the cutover to carry
  r = test::RunWalferry({"-c", config, "cutover", "--terminate-sessions"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cutover complete"), std::string::npos) << r.output;
  ExpectSame(db);
  t.Exec("INSERT INTO orders (v) VALUES ('after the switch')");  // the sequence behind the key was carried
  pg::Connection fresh = test::ConnectSource(db);  // the cutover ended the sessions it found on the source
  EXPECT_EQ(Count(fresh, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
}

// The way back across versions: cutover --fallback creates the reverse slot on the (newer) target, the target's
// writes stream back to the (older) old source, and --switch-back makes it the primary again.
TEST(Versions, FallbackCarriesTheTargetsWritesBackToTheOlderSource) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE orders (id bigserial PRIMARY KEY, v text, doc text); "
                          "CREATE TABLE events (kind text, payload text); ALTER TABLE events REPLICA IDENTITY FULL; "
                          "INSERT INTO orders (v, doc) SELECT 'o' || g, repeat(md5(g::text), 200) "
                          "FROM generate_series(1, 50) g; "
                          "INSERT INTO events SELECT 'k', 'same' FROM generate_series(1, 5) g");
  const std::string config = test::WriteConfig(db, "sets:\n  - name: vfb\n    apply: transactional\n    tables:\n"
                                                   "      - name: public.orders\n      - name: public.events\n");
  ASSERT_EQ(test::RunWalferry({"-c", config, "load"}).exit_code, 0);
  test::CliResult r = test::RunWalferry({"-c", config, "cutover", "--terminate-sessions", "--fallback"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  {
    pg::Connection t = test::ConnectTarget(db);
    t.Exec("INSERT INTO orders (v, doc) SELECT 'on the target', repeat('t', 5000) FROM generate_series(1, 10)");
    t.Exec("UPDATE orders SET v = 'changed on the target' WHERE id % 3 = 0");
    t.Exec("DELETE FROM orders WHERE id % 7 = 0");
    t.Exec("INSERT INTO events VALUES ('k', 'same'); DELETE FROM events WHERE ctid = "
           "(SELECT min(ctid) FROM events WHERE kind = 'k')");
  }
  r = test::RunWalferry({"-c", config, "fallback", "--switch-back", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("switched back"), std::string::npos) << r.output;
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  for (const char* table : {"orders", "events"}) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  s.Exec("INSERT INTO orders (v) VALUES ('the old source is the primary again')");
  t.Exec("SET default_transaction_read_only = off");
  t.Exec("ALTER DATABASE " + db + " RESET default_transaction_read_only");
}

// PostgreSQL 12 cannot publish a partitioned table: plan says so, and load refuses before it changes anything.
TEST(Versions, PartitionedTablesOnAPostgresTwelveSourceAreRefusedClearly) {
  if (test::Source().major() >= 13) GTEST_SKIP() << "the source publishes partitioned tables (13+)";
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE plain (id int PRIMARY KEY); "
                          "CREATE TABLE measures (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at); "
                          "CREATE TABLE measures_2026 PARTITION OF measures "
                          "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
  const std::string config = test::WriteConfig(db, "sets:\n  - name: v12p\n    tables:\n"
                                                   "      - name: public.plain\n      - name: public.measures\n");
  test::CliResult r = test::RunWalferry({"-c", config, "load"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot publish partitioned tables: public.measures"), std::string::npos) << r.output;
  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_v12p'"), 0);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication"), 0);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_tables WHERE tablename = 'plain'"), 0);
}

// Before 14 a standby says only that a replay pause was requested, not that replay has paused: --from-standby is
// refused clearly, before anything is changed (its checks named a function 12 and 13 do not have).
TEST(Versions, LoadFromAStandbyOlderThanFourteenIsRefusedClearly) {
  if (test::Source().major() >= 14) GTEST_SKIP() << "the source's standbys can say that replay has paused (14+)";
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE plain (id int PRIMARY KEY); INSERT INTO plain VALUES (1)");
  localcluster::LocalCluster standby = localcluster::LocalCluster::CreateStandby(test::Source(), "standby");
  ASSERT_EQ(standby.major(), test::Source().major());
  const std::string config = test::WriteConfig(db, "sets:\n  - name: v12s\n    tables:\n      - name: public.plain\n");
  test::CliResult r = test::RunWalferry({"-c", config, "load", "--from-standby", standby.Uri(db)});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--from-standby needs PostgreSQL 14 or later"), std::string::npos) << r.output;
  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_v12s'"), 0);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_tables WHERE tablename = 'plain'"), 0);
}

}  // namespace
}  // namespace walferry
