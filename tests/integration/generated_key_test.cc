// A replica identity that includes a STORED generated column (issue 19, docs/versions.md): carried from a
// PostgreSQL 18 source, whose publication then sets publish_generated_columns = stored (control/publication.h), and
// refused clearly, with nothing changed on either server, from an older one (pgoutput sends no generated column
// before 18, so such a key cannot be matched on the target).
// 18 -> 18 (the binary's default; tests/CMakeLists.txt adds a 17 -> 18 entry for the refusal): tables keyed by
// (id, generated column) by primary key and by USING INDEX, a REPLICA IDENTITY FULL table with a generated column
// (duplicate rows, NULL generated values), and a partitioned table keyed by one (rows moving between partitions);
// each in a transactional set and in an `apply: batch` set. The mixed workload changes the columns the generated
// ones derive from (an UPDATE whose old key differs from the new), TOAST values (a large generated column too,
// sent as unchanged TOAST when its inputs do not change), inserts and deletes; `walferry cdc` is killed by SIGKILL
// once while it applies; then every table and partition is compared row by row (test::DiffTable, the test's own
// comparison). This machine has only pg_dump 15, which refuses an 18 source: the target is loaded by other means
// (the same tables created empty on both sides) and CDC starts at --cdc-start-lsn, as version_pairs_test.cc does.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "common/lsn.h"
#include "pg/server_version.h"
#include "support/background_writes.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;

const bool kVersions = test::SetDefaultClusterVersions(18, 18);

// The tables of one set; `x` suffixes every name ("t" transactional, "b" batch).
std::string Tables(const std::string& x) {
  return "CREATE TABLE gk_" + x + " (id int, a int NOT NULL, g int GENERATED ALWAYS AS (a * 10 + id % 3) STORED, "
         "  note text, big text, big_g text GENERATED ALWAYS AS (big || '!') STORED, PRIMARY KEY (id, g)); "
         "CREATE TABLE gidx_" + x + " (id int NOT NULL, a int NOT NULL, "
         "  g text GENERATED ALWAYS AS ('g' || (a % 5)) STORED NOT NULL, note text); "
         "CREATE UNIQUE INDEX gidx_" + x + "_key ON gidx_" + x + " (id, g); "
         "ALTER TABLE gidx_" + x + " REPLICA IDENTITY USING INDEX gidx_" + x + "_key; "
         "CREATE TABLE gfull_" + x + " (k int, a int, g int GENERATED ALWAYS AS (a + 1) STORED, note text); "
         "ALTER TABLE gfull_" + x + " REPLICA IDENTITY FULL; "
         "CREATE TABLE gpart_" + x + " (id int, a int NOT NULL, g int GENERATED ALWAYS AS (a * 2) STORED, note text, "
         "  PRIMARY KEY (id, g)) PARTITION BY RANGE (id); "
         "CREATE TABLE gpart_" + x + "_lo PARTITION OF gpart_" + x + " FOR VALUES FROM (MINVALUE) TO (1000); "
         "CREATE TABLE gpart_" + x + "_hi PARTITION OF gpart_" + x + " FOR VALUES FROM (1000) TO (MAXVALUE); ";
}

// A large value that does not compress (an md5 chain): stored out of line, so an UPDATE that leaves it alone sends
// it as unchanged TOAST.
std::string Big(const std::string& seed) {
  return "(SELECT string_agg(md5(" + seed + " || x::text), '') FROM generate_series(1, 120) x)";
}

std::string Rows(const std::string& x) {
  return "INSERT INTO gk_" + x + " (id, a, note, big) SELECT n, n, 'n' || n, " + Big("n::text") +
         " FROM generate_series(1, 120) n; "
         "INSERT INTO gidx_" + x + " (id, a, note) SELECT n, n, 'i' || n FROM generate_series(1, 100) n; "
         "INSERT INTO gfull_" + x + " (k, a, note) SELECT n % 10, CASE WHEN n % 4 = 0 THEN NULL ELSE n % 6 END, "
         "  'same' FROM generate_series(1, 80) n; "
         "INSERT INTO gpart_" + x + " (id, a, note) SELECT n, n, 'p' || n FROM generate_series(1, 100) n; ";
}

// One round on the tables of suffix x: each kind of change, several transactions, the same row changed more than
// once in one transaction (batch apply nets it), keys that change because their generated column does.
void WriteRound(pg::Connection& s, const std::string& x, int round) {
  const std::string r = std::to_string(round);
  auto mod = [&](int m) { return std::to_string(round % m); };
  s.Exec("BEGIN");
  s.Exec("INSERT INTO gk_" + x + " (id, a, note, big) SELECT 1000 * " + r + " + n, n, 'w', " + Big("'" + r + "'") +
         " FROM generate_series(1, 3) n");
  s.Exec("UPDATE gk_" + x + " SET a = a + 1 WHERE id % 7 = " + mod(7));      // g changes: the old key differs
  s.Exec("UPDATE gk_" + x + " SET a = a + 2 WHERE id % 7 = " + mod(7));      // the same rows again
  s.Exec("UPDATE gk_" + x + " SET note = note || '.' WHERE id % 5 = " + mod(5));  // big, big_g unchanged TOAST
  s.Exec("UPDATE gk_" + x + " SET big = " + Big("id::text || 'r" + r + "'") + " WHERE id % 11 = " + mod(11));
  s.Exec("UPDATE gk_" + x + " SET a = a + 1, note = 'both' WHERE id % 17 = " + mod(17));  // TOAST unchanged too
  s.Exec("DELETE FROM gk_" + x + " WHERE id % 97 = " + mod(97));  // a few: most rows live to change keys
  s.Exec("COMMIT");
  s.Exec("BEGIN");
  s.Exec("INSERT INTO gidx_" + x + " (id, a, note) VALUES (" + std::to_string(1000 + round) + ", " + r + ", 'w')");
  s.Exec("UPDATE gidx_" + x + " SET a = a + 1 WHERE id % 6 = " + mod(6));  // g text changes
  s.Exec("UPDATE gidx_" + x + " SET note = note || '+' WHERE id % 4 = " + mod(4));
  s.Exec("DELETE FROM gidx_" + x + " WHERE id % 97 = " + mod(97));
  s.Exec("COMMIT");
  s.Exec("BEGIN");
  s.Exec("INSERT INTO gfull_" + x + " (k, a, note) VALUES (" + mod(10) + ", 1, 'same'), (" + mod(10) +
         ", 1, 'same'), (" + mod(10) + ", NULL, 'same')");
  s.Exec("UPDATE gfull_" + x + " SET a = a + 1 WHERE k = " + mod(10));        // several identical rows at once
  s.Exec("UPDATE gfull_" + x + " SET note = 'null " + r + "' WHERE a IS NULL AND k = " + mod(9));  // g is NULL
  s.Exec("DELETE FROM gfull_" + x + " WHERE ctid IN (SELECT ctid FROM gfull_" + x + " WHERE k = " + mod(8) +
         " LIMIT 1)");  // one of identical rows
  s.Exec("COMMIT");
  s.Exec("BEGIN");
  s.Exec("INSERT INTO gpart_" + x + " (id, a, note) VALUES (" + std::to_string(2000 + round) + ", 1, 'w')");
  s.Exec("UPDATE gpart_" + x + " SET a = a + 1 WHERE id % 9 = " + mod(9));
  s.Exec("UPDATE gpart_" + x + " SET id = id + 1000, a = a + 1 WHERE id < 1000 AND id % 23 = " + mod(23));  // moves
  s.Exec("DELETE FROM gpart_" + x + " WHERE id % 97 = " + mod(97) + " AND id > 50");
  s.Exec("COMMIT");
}


std::string SetYaml(const std::string& name, const std::string& x, bool batch) {
  std::string yaml = "  - name: " + name + "\n" + (batch ? "    apply: batch\n" : "") + "    tables:\n";
  for (const char* t : {"gk_", "gidx_", "gfull_", "gpart_"}) {
    yaml += "      - name: public." + std::string(t) + x + "\n";
  }
  return yaml;
}

// Every table and partition of the test, as DiffTable reads them.
const std::vector<std::string> kCompared = {"plain_g", "gk_t",   "gidx_t",      "gfull_t",     "gpart_t", "ONLY gpart_t_lo",
                                            "ONLY gpart_t_hi", "gk_b", "gidx_b", "gfull_b", "gpart_b",
                                            "ONLY gpart_b_lo", "ONLY gpart_b_hi"};

TEST(GeneratedKey, AnEighteenSourcePublishesItAndCdcMatchesRowsByItThroughAKill) {
  if (test::Source().major() < 18) GTEST_SKIP() << "refused before 18: AnOlderSourceIsRefusedClearly";
  std::string db = test::FreshDatabase();
  // A third set whose only table has a generated column outside its key: its publication sends none (only a set
  // that needs them publishes generated columns).
  const std::string tables = Tables("t") + Tables("b") +
                             "CREATE TABLE plain_g (id int PRIMARY KEY, v text, "
                             "  v_len int GENERATED ALWAYS AS (length(v)) STORED); ";
  test::Source().Psql(db, tables);
  test::Target().Psql(db, tables);  // the load by other means, of tables that are empty on both sides
  const std::string config =
      test::WriteConfig(db, "sets:\n" + SetYaml("gtx", "t", false) + SetYaml("gbt", "b", true) +
                                "  - name: gpl\n    tables:\n      - name: public.plain_g\n");

  // assess calls the tables carried (not a blocking finding) and says why.
  test::CliResult r = test::RunWalferry({"--log-level", "off", "assess", "--source", test::Source().Uri(db)});
  EXPECT_NE(r.output.find("PASS  carried_tables"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("public.gk_t: generated_key_published"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("public.gidx_b: generated_key_published"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("generated_key:"), std::string::npos) << r.output;

  pg::Connection s = test::ConnectSource(db);
  s.Exec("SELECT pg_switch_wal()");  // a fresh segment: the slots' start is far before the next one
  const Lsn now = Lsn::Parse(test::Text(s, "SELECT pg_current_wal_lsn()::text"));
  const int64_t segment = Count(s, "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'");
  const Lsn next_segment((now.value() / segment + 1) * segment);
  r = test::RunWalferry({"-c", config, "load", "--cdc-start-lsn", next_segment.ToString()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  s.Exec("SELECT pg_switch_wal()");
  ASSERT_GE(Lsn::Parse(test::Text(s, "SELECT pg_current_wal_insert_lsn()::text")), next_segment);
  // Both sets hold such a key: both publications send stored generated columns.
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication WHERE pubgencols = 's'"), 2);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication WHERE pubgencols = 'n' AND pubname LIKE '%gpl'"), 1);
  test::Source().Psql(db, Rows("t") + Rows("b") +
                              "INSERT INTO plain_g (id, v) SELECT n, repeat('v', n) FROM generate_series(1, 50) n; "
                              "UPDATE plain_g SET v = v || 'x' WHERE id % 3 = 0; DELETE FROM plain_g WHERE id = 7;");

  const std::string log = (std::filesystem::temp_directory_path() / ("walferry-" + db + "-cdc.log")).string();
  {
    test::BackgroundWrites workload(db, [](pg::Connection& session, int round) {
      WriteRound(session, "t", round);
      WriteRound(session, "b", round);
    });
    pid_t cdc = test::SpawnWalferry({"-c", config, "cdc"}, true, log);
    pg::Connection t = test::ConnectTarget(db);
    ASSERT_TRUE(test::PollUntil([&] {
      return Count(t, "SELECT count(*) FROM gk_b WHERE note = 'w'") > 0 &&
             Count(t, "SELECT count(*) FROM gk_t WHERE note = 'w'") > 0;
    })) << "CDC applied nothing of the workload; log: " << test::ReadWholeFile(log);
    const int rounds_at_kill = workload.rounds();
    ASSERT_EQ(kill(cdc, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(cdc, &status, 0), cdc);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "walferry cdc ended before it was killed: status " << status << "; log: " << test::ReadWholeFile(log);
    ASSERT_TRUE(test::PollUntil([&] { return workload.rounds() >= rounds_at_kill + 5; }));
    ASSERT_EQ(workload.Stop(), "") << "the workload failed";
    std::cout << "[ generated key ] " << workload.rounds() << " workload rounds, CDC killed after round "
              << rounds_at_kill << "\n";
  }
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string all_logs = test::ReadWholeFile(log) + r.output;
  // The batch set really netted its keyed tables (a table that cannot be is logged as applied per change, as
  // its FULL-identity table is).
  EXPECT_NE(all_logs.find("public.gfull_b is in apply: batch but is applied per change: REPLICA IDENTITY FULL"),
            std::string::npos) << all_logs;
  for (const char* t : {"public.gk_b is in apply: batch", "public.gidx_b is in apply: batch",
                        "public.gpart_b is in apply: batch"}) {
    EXPECT_EQ(all_logs.find(t), std::string::npos) << t << "\n" << all_logs;
  }

  pg::Connection t = test::ConnectTarget(db);
  for (const std::string& table : kCompared) {
    EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  }
  // The workload did what it is for: keys changed through their generated column, rows moved, duplicates kept.
  for (const std::string x : {"t", "b"}) {
    EXPECT_GT(Count(t, "SELECT count(*) FROM gk_" + x + " WHERE g <> id * 10 + id % 3 AND id < 1000"), 0) << x;
    EXPECT_GT(Count(t, "SELECT count(*) FROM ONLY gpart_" + x + "_hi WHERE id < 2000"), 0) << x;
    EXPECT_GT(Count(t, "SELECT count(*) FROM (SELECT 1 FROM gfull_" + x + " GROUP BY k, a, note "
                       "HAVING count(*) > 1) d"), 0) << x;
    EXPECT_GT(Count(t, "SELECT count(*) FROM gfull_" + x + " WHERE g IS NULL AND note LIKE 'null%'"), 0) << x;
  }

  // The way back (cutover --fallback): the target's writes carried to the old source through a publication on
  // the 18 target, which must send the generated key columns as well.
  r = test::RunWalferry({"-c", config, "cutover", "--fallback", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'walferry_fallback%' "
                     "AND pubgencols = 's'"),
            1);
  for (int round = 500; round < 503; ++round) {
    WriteRound(t, "t", round);
    WriteRound(t, "b", round);
  }
  r = test::RunWalferry({"-c", config, "fallback", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection old_source = test::ConnectSource(db);
  for (const std::string& table : kCompared) {
    EXPECT_EQ(test::DiffTable(old_source, t, table), "") << "after the way back: " << table;
  }
  EXPECT_GT(Count(old_source, "SELECT count(*) FROM gk_t WHERE note = 'w' AND id >= 500000"), 0);
}

// A source older than 18 cannot publish generated columns: assess, plan and load refuse the table, name the fix
// and that an 18 source would carry it, and the refused load changes nothing on either server.
TEST(GeneratedKey, AnOlderSourceIsRefusedClearly) {
  const int source_major = test::Source().major();
  if (pg::FeaturesOf(source_major * 10000).publish_generated_columns) {
    GTEST_SKIP() << "an 18 source carries it: AnEighteenSourcePublishesItAndCdcMatchesRowsByItThroughAKill";
  }
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE gk (id int, a int NOT NULL, g int GENERATED ALWAYS AS (a * 10) STORED, "
                          "PRIMARY KEY (id, g)); "
                          "CREATE TABLE gidx (id int NOT NULL, a int NOT NULL, "
                          "  g int GENERATED ALWAYS AS (a % 5) STORED NOT NULL); "
                          "CREATE UNIQUE INDEX gidx_key ON gidx (id, g); "
                          "ALTER TABLE gidx REPLICA IDENTITY USING INDEX gidx_key; "
                          "CREATE TABLE plain (id int PRIMARY KEY); "
                          "INSERT INTO gk (id, a) VALUES (1, 1); INSERT INTO gidx (id, a) VALUES (1, 1)");

  test::CliResult r = test::RunWalferry({"--log-level", "off", "assess", "--source", test::Source().Uri(db)});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("FAIL  carried_tables: 2 selected table(s) that walferry load would refuse"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("public.gk: generated_key: the replica identity (primary key) includes the generated "
                          "column \"g\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("public.gidx: generated_key: the replica identity (USING INDEX)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("a PostgreSQL 18 source would carry it"), std::string::npos) << r.output;

  const auto planned = std::filesystem::temp_directory_path() / ("walferry-" + db + "-plan.yaml");
  r = test::RunWalferry({"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--target",
                         test::Target().Uri(db), "--sets", "1", "--out", planned.string(), "--force"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("public.gidx (generated_key)"), std::string::npos) << r.output;

  const std::string config = test::WriteConfig(db, "");
  r = test::RunWalferry({"-c", config, "load"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("2 table(s) cannot be carried"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("table public.gk: its replica identity (primary key) includes the generated column \"g\": "
                          "logical replication (pgoutput) sends no generated column before PostgreSQL 18 (this "
                          "source is " + std::to_string(source_major) + "; an 18 source publishes it)"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("table public.gidx: its replica identity (USING INDEX)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fix: ALTER TABLE \"public\".\"gk\" REPLICA IDENTITY FULL;"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("nothing was changed on either server"), std::string::npos) << r.output;

  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication"), 0);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_class WHERE relname IN ('gk', 'gidx', 'plain')"), 0);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);

  // The fix named works: FULL identity for one, the other excluded; the load then takes them.
  s.Exec("ALTER TABLE gk REPLICA IDENTITY FULL");
  r = test::RunWalferry({"--log-level", "off", "assess", "--source", test::Source().Uri(db), "--exclude",
                         "public.gidx"});
  EXPECT_NE(r.output.find("PASS  carried_tables"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace walferry
