// The version-pair matrix: one ctest entry per (source, target) pair of PostgreSQL major versions
// (tests/CMakeLists.txt sets WALFERRY_TEST_SOURCE_VERSION / WALFERRY_TEST_TARGET_VERSION; docs/versions.md lists the
// pairs). Each pair runs the same migration: a fixture with partitions (where the source can publish them: 13+),
// legacy inheritance (rows in parent and child), a keyless REPLICA IDENTITY FULL table with duplicate rows, TOAST
// values, a stored generated column, sequences and large objects; plan, load, CDC of a mixed workload (a partition
// truncated now and then among it) with
// `walferry cdc` killed by SIGKILL while it applies, CDC again until caught up, the cutover; then every table (each
// partition and inheritance child read ONLY), sequence and large object compared by matrix::CompareDatabases, the
// test's own comparison, not walferry's validate.
// What a pair cannot do is checked instead of skipped silently: a source newer than every pg_dump on the machine
// (Debian 12 has only pg_dump 15, so 16, 17 and 18 sources) is refused by the load, clearly and before it changes
// anything, and is then carried by CDC after a load by other means (--cdc-start-lsn); a target older than the source
// is refused by plan and by load. Also per version: a slot invalidated on the source as walferry status reads it,
// and (18) virtual generated columns. Run alone without the variables, the binary runs 12 -> 18.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "catalog/catalog.h"
#include "common/lsn.h"
#include "control/set_status.h"
#include "load/table_copy.h"
#include "matrix/compare.h"
#include "pg/copy_stream.h"
#include "pg/server_version.h"
#include "support/background_writes.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;

const bool kVersions = test::SetDefaultClusterVersions(12, 18);

// Whether this machine has a pg_dump that can dump a source of major version `major` (its own version or newer:
// pg_dump refuses a newer server), in Debian's layout, where the client packages install it. Looked up by the test
// itself, not through walferry's search (load/client_tools.h), which is what the refusal test checks.
bool MachineHasPgDumpFor(int major) {
  for (int n = major; n < 40; ++n) {
    if (std::filesystem::exists("/usr/lib/postgresql/" + std::to_string(n) + "/bin/pg_dump")) return true;
  }
  return false;
}

std::string PairName() {
  return "PostgreSQL " + std::to_string(test::Source().major()) + " -> " + std::to_string(test::Target().major());
}

// The fixture's tables; partitions only where the source can publish them (13+; 12 refuses them: versions_test.cc).
std::string Tables(bool partitions) {
  std::string sql =
      "CREATE TABLE orders (id bigserial PRIMARY KEY, v text, doc text, "
      "                     v_length int GENERATED ALWAYS AS (length(v)) STORED); "
      "CREATE TABLE events (kind text, payload text); ALTER TABLE events REPLICA IDENTITY FULL; "
      "CREATE TABLE animals (id int PRIMARY KEY, name text); "
      "CREATE TABLE dogs (breed text) INHERITS (animals); ALTER TABLE dogs ADD PRIMARY KEY (id); "
      "CREATE SEQUENCE tickets START 100; "
      "CREATE TABLE docs (id int PRIMARY KEY, lo oid); ";
  if (partitions) {
    sql += "CREATE TABLE measures (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at); "
           "CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01'); "
           "CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'); "
           "CREATE TABLE measures_other PARTITION OF measures DEFAULT; ";
  }
  return sql;
}

// The fixture's first rows, TOAST values (large and not compressible: md5 chains) and large objects among them.
std::string Rows(bool partitions) {
  std::string sql =
      "INSERT INTO orders (v, doc) SELECT 'o' || g, (SELECT string_agg(md5(g::text || x::text), '') "
      "                                              FROM generate_series(1, 100) x) FROM generate_series(1, 300) g; "
      "INSERT INTO events SELECT 'k' || (g % 5), 'same' FROM generate_series(1, 60) g; "
      "INSERT INTO animals SELECT g, 'animal ' || g FROM generate_series(1, 50) g; "
      "INSERT INTO dogs SELECT g, 'dog ' || g, 'breed ' || (g % 3) FROM generate_series(1001, 1040) g; "
      "SELECT nextval('tickets') FROM generate_series(1, 3); "
      "INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc' || g, 2000), 'UTF8')) "
      "FROM generate_series(1, 4) g; ";
  if (partitions) {
    sql += "INSERT INTO measures SELECT g, date '2025-01-01' + (g * 7), 'm' || g FROM generate_series(1, 120) g; ";
  }
  return sql;
}

std::string Schema(bool partitions) { return Tables(partitions) + Rows(partitions); }

// One round of the mixed workload: every kind of change, in several transactions, one rolled back and one with a
// subtransaction rolled back.
void WriteRound(pg::Connection& s, int round, bool partitions) {
  const std::string r = std::to_string(round);
  s.Exec("BEGIN");
  s.Exec("INSERT INTO orders (v, doc) SELECT 'w" + r + "', repeat(md5(g::text || '" + r + "'), 200) "
         "FROM generate_series(1, 10) g");
  s.Exec("UPDATE orders SET v = v || '+' WHERE id % 13 = " + std::to_string(round % 13));  // TOAST unchanged
  s.Exec("UPDATE orders SET doc = repeat(md5(id::text || 'r" + r + "'), 150) WHERE id % 29 = " +
         std::to_string(round % 29));
  s.Exec("DELETE FROM orders WHERE id % 31 = " + std::to_string(round % 31));
  s.Exec("COMMIT");
  s.Exec("BEGIN");
  s.Exec("INSERT INTO events VALUES ('k1', 'same'), ('k1', 'same'), ('n" + r + "', repeat('e', 4000))");
  s.Exec("DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE kind = 'k" + std::to_string(round % 5) +
         "' LIMIT 1)");
  s.Exec("UPDATE events SET payload = 'changed " + r + "' WHERE kind = 'k2'");  // several identical rows at once
  s.Exec("SAVEPOINT a");
  s.Exec("INSERT INTO events VALUES ('rolled back', 'never')");
  s.Exec("ROLLBACK TO SAVEPOINT a");
  s.Exec("COMMIT");
  s.Exec("BEGIN");
  s.Exec("INSERT INTO animals VALUES (" + std::to_string(100 + round) + ", 'parent " + r + "')");
  s.Exec("INSERT INTO dogs VALUES (" + std::to_string(2000 + round) + ", 'child " + r + "', 'b')");
  s.Exec("UPDATE animals SET name = name || '.' WHERE id % 7 = " + std::to_string(round % 7));  // parent and child
  s.Exec("DELETE FROM ONLY animals WHERE id = " + std::to_string(round % 50 + 1));
  s.Exec("COMMIT");
  s.Exec("BEGIN");
  s.Exec("SELECT nextval('tickets') FROM generate_series(1, 3)");
  s.Exec("INSERT INTO docs VALUES (" + std::to_string(100 + round) + ", lo_from_bytea(0, '\\x00ff'::bytea || '" +
         r + "'::bytea))");
  s.Exec("SELECT lo_put(lo, " + std::to_string(round) + ", '\\x42'::bytea) FROM docs WHERE id = 1");
  if (round % 4 == 0) {
    s.Exec("SELECT lo_unlink(lo) FROM docs WHERE id = " + std::to_string(100 + round - 2));
    s.Exec("DELETE FROM docs WHERE id = " + std::to_string(100 + round - 2));
  }
  s.Exec("COMMIT");
  if (partitions) {
    s.Exec("BEGIN");
    s.Exec("INSERT INTO measures VALUES (" + std::to_string(1000 + round) + ", date '2026-03-01', 'new')");
    s.Exec("UPDATE measures SET at = at + 365 WHERE id % 11 = " + std::to_string(round % 11) +
           " AND at < '2026-01-01'");  // rows move to another partition
    s.Exec("UPDATE measures SET v = v || '*' WHERE id % 5 = " + std::to_string(round % 5));
    s.Exec("INSERT INTO measures VALUES (" + std::to_string(5000 + round) + ", date '2030-01-01', 'far')");
    // A TRUNCATE of one partition: a trigger's logical message on 14+, a row of walferry's table on 13.
    if (round % 9 == 4) s.Exec("TRUNCATE measures_other");
    s.Exec("COMMIT");
  }
  s.Exec("BEGIN");
  s.Exec("INSERT INTO orders (v) VALUES ('never committed')");
  s.Exec("ROLLBACK");
}


// After the load: CDC of the mixed workload, killed with SIGKILL once it has applied some of it and while the
// workload still writes; CDC again until caught up; one more round left for the cutover; the cutover; then the
// test's own comparison of everything.
void CdcKillCutoverAndCompare(const std::string& db, const std::string& config, bool partitions) {
  const std::string log = (std::filesystem::temp_directory_path() / ("walferry-" + db + "-cdc.log")).string();
  {
    test::BackgroundWrites workload(db, [partitions](pg::Connection& session, int round) {
      WriteRound(session, round, partitions);
    });
    pid_t cdc = test::SpawnWalferry({"-c", config, "cdc"}, true, log);
    pg::Connection t = test::ConnectTarget(db);
    ASSERT_TRUE(test::PollUntil([&] { return Count(t, "SELECT count(*) FROM orders WHERE v LIKE 'w%'") > 0; }))
        << "CDC applied nothing of the workload; log: " << test::ReadWholeFile(log);
    const int rounds_at_kill = workload.rounds();
    ASSERT_EQ(kill(cdc, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(cdc, &status, 0), cdc);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "walferry cdc ended before it was killed: status " << status << "; log: " << test::ReadWholeFile(log);
    // More of the workload after the kill, for the next run to carry from where the killed one stopped.
    ASSERT_TRUE(test::PollUntil([&] { return workload.rounds() >= rounds_at_kill + 5; }));
    const std::string error = workload.Stop();
    ASSERT_EQ(error, "") << "the workload failed";
    std::cout << "[ version pair ] " << workload.rounds() << " workload rounds, CDC killed after round "
              << rounds_at_kill << "\n";
  }
  test::CliResult r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  {
    pg::Connection s = test::ConnectSource(db);
    WriteRound(s, 1000, partitions);  // left for the cutover to carry
  }
  r = test::RunWalferry({"-c", config, "cutover", "--terminate-sessions"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cutover complete"), std::string::npos) << r.output;

  std::vector<std::string> diffs = matrix::CompareDatabases(test::Source().Uri(db), test::Target().Uri(db), "walferry");
  std::string all;
  for (const auto& d : diffs) all += d + "\n";
  EXPECT_TRUE(diffs.empty()) << PairName() << ": source and target differ after the cutover:\n" << all;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_GT(Count(t, "SELECT count(*) FROM orders WHERE v LIKE 'w%'"), 50);
  pg::Connection fresh = test::ConnectSource(db);  // the cutover ended the sessions it found on the source
  EXPECT_GT(Count(fresh, "SELECT count(*) FROM pg_largeobject_metadata"), 4);
  if (partitions) {
    EXPECT_GT(Count(t, "SELECT count(*) FROM ONLY measures_2026"), 0);
  }
  t.Exec("INSERT INTO orders (v) VALUES ('after the switch')");  // the sequence behind the key was carried
  EXPECT_EQ(Count(fresh, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
}

TEST(VersionPair, MigratesAMixedWorkloadThroughAKillOfCdcAndTheCutover) {
  const int source_major = test::Source().major();
  const int target_major = test::Target().major();
  std::cout << "[ version pair ] " << PairName() << "\n";
  if (target_major < source_major) GTEST_SKIP() << "refused: ATargetOlderThanTheSourceIsRefusedClearly";
  if (!MachineHasPgDumpFor(source_major)) GTEST_SKIP() << "refused: ASourceNewerThanEveryPgDumpIsRefusedClearly";
  const bool partitions = source_major >= 13;
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, Schema(partitions));

  const std::string config = test::WriteConfig(db, "");  // replaced by plan's
  test::CliResult r = test::RunWalferry({"plan", "--source", test::Source().Uri(db), "--target",
                                         test::Target().Uri(db), "--sets", "2", "--out", config, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  CdcKillCutoverAndCompare(db, config, partitions);
}

// Nothing on either server may have changed after a refused load.
void ExpectNothingCreated(const std::string& db) {
  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication"), 0);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'"), 0);
}

// pg_dump refuses a server newer than itself, and the schema comes from pg_dump: with no pg_dump of the source's
// version or newer on the machine, the load refuses before it changes anything and says what to install.
TEST(VersionPair, ASourceNewerThanEveryPgDumpIsRefusedClearly) {
  const int source_major = test::Source().major();
  if (MachineHasPgDumpFor(source_major)) GTEST_SKIP() << "this machine has a pg_dump for the source";
  if (test::Target().major() < source_major) GTEST_SKIP() << "refused: ATargetOlderThanTheSourceIsRefusedClearly";
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, Schema(source_major >= 13));
  const std::string source = std::to_string(source_major);
  // plan says so already (a note: the plan itself is fine, and a load by other means needs no pg_dump).
  const std::string planned = (std::filesystem::temp_directory_path() / ("walferry-" + db + "-plan.yaml")).string();
  test::CliResult r = test::RunWalferry({"plan", "--source", test::Source().Uri(db), "--target",
                                         test::Target().Uri(db), "--sets", "1", "--out", planned, "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("note: walferry load needs pg_dump of PostgreSQL " + source + " or newer"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--cdc-start-lsn"), std::string::npos) << r.output;

  const std::string config = test::WriteConfig(db, "sets:\n  - name: vp\n    tables:\n      - name: public.orders\n");
  r = test::RunWalferry({"-c", config, "load"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no pg_dump for a PostgreSQL " + source + " source on this machine"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("install the PostgreSQL " + source + " (or newer) client programs"), std::string::npos)
      << r.output;
  ExpectNothingCreated(db);
}

// What of a 16+ source this machine can test without its pg_dump: a target loaded by other means (here: the same
// tables created by the test on both sides, empty) and `walferry load --cdc-start-lsn`, which copies nothing and so
// needs no client programs; then the fixture's rows and the mixed workload travel by CDC from the newer source
// (killed once), and the cutover carries sequences and large objects. The LSN is the start of the source's next
// WAL segment, after the slot's consistent point; pg_switch_wal() then puts every later commit after it.
TEST(VersionPair, ASourceWithoutAFittingPgDumpIsCarriedByCdcFromALoadByOtherMeans) {
  const int source_major = test::Source().major();
  if (MachineHasPgDumpFor(source_major)) GTEST_SKIP() << "covered by the whole migration (this machine has pg_dump)";
  if (test::Target().major() < source_major) GTEST_SKIP() << "refused: ATargetOlderThanTheSourceIsRefusedClearly";
  const bool partitions = source_major >= 13;
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, Tables(partitions));
  test::Target().Psql(db, Tables(partitions));  // the load by other means, of tables that are empty on both sides

  const std::string config = test::WriteConfig(db, "");  // replaced by plan's
  test::CliResult r = test::RunWalferry({"plan", "--source", test::Source().Uri(db), "--target",
                                         test::Target().Uri(db), "--sets", "2", "--out", config, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection s = test::ConnectSource(db);
  s.Exec("SELECT pg_switch_wal()");  // a fresh segment: the slot's start is far before the next one
  const Lsn now = Lsn::Parse(test::Text(s, "SELECT pg_current_wal_lsn()::text"));
  const int64_t segment = Count(s, "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'");
  const Lsn next_segment((now.value() / segment + 1) * segment);
  r = test::RunWalferry({"-c", config, "load", "--cdc-start-lsn", next_segment.ToString()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  s.Exec("SELECT pg_switch_wal()");
  ASSERT_GE(Lsn::Parse(test::Text(s, "SELECT pg_current_wal_insert_lsn()::text")), next_segment);
  test::Source().Psql(db, Rows(partitions));

  CdcKillCutoverAndCompare(db, config, partitions);
}

// A target older than the source: plan fails its target_version check and writes nothing; load refuses too.
TEST(VersionPair, ATargetOlderThanTheSourceIsRefusedClearly) {
  const int source_major = test::Source().major();
  const int target_major = test::Target().major();
  if (target_major >= source_major) GTEST_SKIP() << "the target is as new as the source or newer";
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, Schema(source_major >= 13));
  const std::string planned = (std::filesystem::temp_directory_path() / ("walferry-" + db + "-plan.yaml")).string();
  std::filesystem::remove(planned);  // an earlier run's, in the same temporary directory
  test::CliResult r = test::RunWalferry({"plan", "--source", test::Source().Uri(db), "--target",
                                         test::Target().Uri(db), "--sets", "1", "--out", planned});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const std::string older = "the target runs PostgreSQL " + std::to_string(target_major) + ", older than the "
                            "source's " + std::to_string(source_major);
  EXPECT_NE(r.output.find("FAIL target_version"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(older), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(planned));

  const std::string config = test::WriteConfig(db, "sets:\n  - name: vp\n    tables:\n      - name: public.orders\n");
  r = test::RunWalferry({"-c", config, "load"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("walferry does not migrate from PostgreSQL " + std::to_string(source_major)),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find(older), std::string::npos) << r.output;
  ExpectNothingCreated(db);
}

// A slot the source invalidated (here by max_slot_wal_keep_size, 13+), read the way walferry status and CDC read
// it on each version: 17+ gives the reason (invalidation_reason) and since when nobody reads it (inactive_since),
// older versions only wal_status 'lost'. The settings are put back afterwards.
TEST(VersionPair, AnInvalidatedSlotIsReportedAsTheSourcesVersionAllows) {
  const int source_major = test::Source().major();
  if (source_major < 13) GTEST_SKIP() << "PostgreSQL 12 has no max_slot_wal_keep_size: its slots are never lost";
  std::string db = test::FreshDatabase();
  pg::Connection s = test::ConnectSource(db);
  s.Exec("CREATE TABLE filler (v text)");
  s.Exec("SELECT pg_create_logical_replication_slot('vp_invalidated', 'pgoutput')");
  s.Exec("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  s.Exec("SELECT pg_reload_conf()");
  const bool lost = test::PollUntil([&] {
    s.Exec("INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)");
    s.Exec("SELECT pg_switch_wal()");
    s.Exec("CHECKPOINT");
    return test::Text(s, "SELECT coalesce(wal_status, '') FROM pg_replication_slots "
                         "WHERE slot_name = 'vp_invalidated'") == "lost";
  }, std::chrono::seconds(60), std::chrono::milliseconds(10));
  std::optional<control::SlotFacts> slot = control::ReadSlot(s, "vp_invalidated");
  s.Exec("ALTER SYSTEM RESET max_slot_wal_keep_size");
  s.Exec("SELECT pg_reload_conf()");
  s.Exec("SELECT pg_drop_replication_slot('vp_invalidated')");
  ASSERT_TRUE(lost) << "the slot was never invalidated";
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(slot->wal_status, "lost");
  std::vector<std::string> warnings = control::SlotWarnings("vp_invalidated", *slot, std::nullopt, {});
  ASSERT_EQ(warnings.size(), 1u);
  if (source_major >= 17) {
    EXPECT_EQ(slot->invalidation_reason, "wal_removed");
    ASSERT_TRUE(slot->inactive_seconds.has_value()) << "inactive_since of a slot nobody has read";
    EXPECT_GE(*slot->inactive_seconds, 0.0);
    EXPECT_NE(warnings[0].find("was invalidated by the source (wal_removed): the source removed WAL"),
              std::string::npos) << warnings[0];
  } else {
    EXPECT_FALSE(slot->invalidation_reason.has_value());
    EXPECT_FALSE(slot->inactive_seconds.has_value());
    EXPECT_NE(warnings[0].find("slot vp_invalidated is lost: the source removed WAL"), std::string::npos)
        << warnings[0];
  }
}

// PostgreSQL 18 computes a generated column at read time unless it says STORED (attgenerated 'v', the default
// kind): like a stored one, walferry must leave it out of the COPY (COPY refuses a generated column in its list) and
// let the target compute it. The load itself cannot run from an 18 source here (no pg_dump 18), so the catalog and
// the load's COPY statement are checked on the real server.
TEST(VersionPair, AVirtualGeneratedColumnOfAnEighteenSourceIsLeftToTheTarget) {
  if (test::Source().major() < 18) GTEST_SKIP() << "generated columns are all STORED before PostgreSQL 18";
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE shapes (id int PRIMARY KEY, w int, h int, "
                          "area int GENERATED ALWAYS AS (w * h), "
                          "perimeter int GENERATED ALWAYS AS (2 * (w + h)) STORED); "
                          "INSERT INTO shapes (id, w, h) VALUES (1, 2, 3), (2, 4, 5)");
  pg::Connection s = test::ConnectSource(db);
  EXPECT_TRUE(pg::FeaturesOf(s.ServerVersionNum()).virtual_generated_columns);
  ASSERT_EQ(test::Text(s, "SELECT string_agg(attname || '=' || attgenerated::text, ',' ORDER BY attnum) "
                          "FROM pg_attribute WHERE attrelid = 'shapes'::regclass AND attgenerated <> ''"),
            "area=v,perimeter=s");
  std::vector<catalog::TableInfo> tables = catalog::ListTables(s);
  const catalog::TableInfo* shapes = catalog::Find(tables, pg::TableName{"public", "shapes"});
  ASSERT_NE(shapes, nullptr);
  for (const auto& c : shapes->columns) {
    EXPECT_EQ(c.generated, c.name == "area" || c.name == "perimeter") << c.name;
  }
  const load::TablePlan plan = load::PlanTable(*shapes, 0);
  EXPECT_EQ(plan.copy_out_sql.find("area"), std::string::npos) << plan.copy_out_sql;
  // Accepted by the server (a generated column in the list is not): read to the end, where CopyOut checks the
  // COPY's result.
  pg::CopyOut copy(s, plan.copy_out_sql);
  int64_t chunks = 0;
  for (std::string_view chunk; copy.Next(&chunk);) ++chunks;
  EXPECT_GT(chunks, 0);
}

}  // namespace
}  // namespace walferry
