// `walferry migrate` end to end against real clusters: two replication sets with a foreign key between them, an
// application writing during the load and the CDC, --until-caught-up, validation, and a second migrate that
// continues from the recorded positions. Ends by proving every table equal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cdc_support.h"
#include "support/clusters.h"

namespace walferry {
namespace {

class Migrate : public ::testing::Test {
 protected:
  // Slots are cluster-wide: remove this test's slots afterwards.
  void TearDown() override {
    test::Source().Psql("postgres",
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active;");
  }
};

using test::WriteConfig;

TEST_F(Migrate, TwoSetsWithAForeignKeyBetweenThemUnderALiveWriter) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL UNIQUE);
    CREATE TABLE children (id bigserial PRIMARY KEY, parent_id int NOT NULL REFERENCES parents (id), note text);
    CREATE TABLE "Audit Trail" (at timestamptz DEFAULT now(), what text);
    ALTER TABLE "Audit Trail" REPLICA IDENTITY FULL;
    INSERT INTO parents SELECT g, 'p' || g FROM generate_series(1, 2000) g;
    INSERT INTO children (parent_id, note) SELECT 1 + g % 2000, repeat('n', g % 300) FROM generate_series(1, 50000) g;
  )sql");
  // The child table's set is loaded first: its foreign key points into the other set.
  std::string config = WriteConfig(db, R"yaml(sets:
  - name: a_children
    tables:
      - name: public.children
      - name: '"Audit Trail"'
  - name: b_parents
    apply: transactional
    tables:
      - name: public.parents
)yaml");
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::string writer_error;
  std::thread writer([&] {
    try {
    pg::Connection w = test::ConnectSource(db);
    for (int k = 1; !stop; ++k) {
      w.Exec("BEGIN");
      w.Exec("INSERT INTO parents VALUES ($1::int, 'new' || $1)", {pg::Param(std::to_string(100000 + k))});
      w.Exec("INSERT INTO children (parent_id, note) VALUES ($1, 'fresh')", {pg::Param(std::to_string(100000 + k))});
      w.Exec("UPDATE parents SET name = name || '+' WHERE id = $1", {pg::Param(std::to_string(1 + k % 2000))});
      w.Exec("DELETE FROM children WHERE id = $1", {pg::Param(std::to_string(k * 3))});
      w.Exec("INSERT INTO \"Audit Trail\" (what) VALUES ($1)", {pg::Param("k" + std::to_string(k))});
      w.Exec("COMMIT");
      ++writes;
    }
    } catch (const std::exception& e) {
      writer_error = e.what();
      stop = true;
    }
  });
  while (writes < 20 && !stop) std::this_thread::yield();
  test::CliResult first = test::RunWalferry({"migrate", "-c", config, "--until-caught-up", "--no-validate"});
  stop = true;
  writer.join();
  ASSERT_EQ(writer_error, "");
  ASSERT_EQ(first.exit_code, 0) << first.output;

  // Everything the writer did after the first catch-up is applied by a second migrate, which loads nothing again.
  test::CliResult second = test::RunWalferry({"migrate", "-c", config, "--until-caught-up"});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("every set was loaded by an earlier run"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("EQUAL: 3 table(s) compared"), std::string::npos) << second.output;

  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  for (const char* table : {"parents", "children", "\"Audit Trail\""}) {
    EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  }
  EXPECT_EQ(t.Exec("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'children'::regclass")
                .GetInt(0, 0),
            1)
      << "the foreign key into the other set exists on the target";
}

// Validation while the real `walferry cdc` applies a live workload: no false differences, and a real one (a row the
// workload never touches, changed on the target only) is still found.
TEST_F(Migrate, ValidateDuringLiveCdcReportsOnlyRealDifferences) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, note text);
    INSERT INTO accounts SELECT g, 1000, 'n' || g FROM generate_series(1, 20000) g;
  )sql");
  std::string config = WriteConfig(db, "");
  ASSERT_EQ(test::RunWalferry({"load", "-c", config}).exit_code, 0);
  pid_t cdc = cdctest::Spawn({"cdc", "-c", config});
  std::atomic<bool> stop{false};
  std::string writer_error;
  std::thread writer([&] {
    try {
      pg::Connection w = test::ConnectSource(db);
      for (int k = 1; !stop; ++k) {
        // Moves money between two accounts (never account 1) and inserts a new one: rows keep changing.
        w.Exec("BEGIN");
        w.Exec("UPDATE accounts SET balance = balance - 1 WHERE id = $1", {pg::Param(std::to_string(2 + k % 9000))});
        w.Exec("UPDATE accounts SET balance = balance + 1 WHERE id = $1", {pg::Param(std::to_string(9002 + k % 9000))});
        w.Exec("INSERT INTO accounts VALUES ($1, 0, 'new')", {pg::Param(std::to_string(100000 + k))});
        w.Exec("COMMIT");
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  test::Target().Psql(db, "UPDATE accounts SET note = 'corrupted' WHERE id = 1");
  test::CliResult r = test::RunWalferry({"validate", "-c", config, "--json"});
  stop = true;
  writer.join();
  ASSERT_EQ(writer_error, "");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("\"key\": \"(\\\"id\\\")=(1)\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("RECORD_DIFF"), std::string::npos) << r.output;
  size_t differences = 0;
  for (size_t pos = r.output.find("\"kind\""); pos != std::string::npos; pos = r.output.find("\"kind\"", pos + 1)) {
    ++differences;
  }
  EXPECT_EQ(differences, 1u) << "only the corrupted row differs: " << r.output;

  // Repair the real difference, let CDC catch up, stop it, and prove the tables equal.
  test::Target().Psql(db, "UPDATE accounts SET note = 'n1' WHERE id = 1");
  test::Source().Psql(db, "SELECT 1");
  std::string end_lsn = test::Source().Psql(db, "SELECT pg_current_wal_insert_lsn()");
  end_lsn.erase(end_lsn.find_last_not_of("\n") + 1);
  EXPECT_TRUE(cdctest::PollUntil([&] {
    return test::Source().Psql("postgres", "SELECT confirmed_flush_lsn >= '" + end_lsn +
                                               "' FROM pg_replication_slots WHERE slot_name = 'walferry_default'") == "t\n";
  }));
  cdctest::TerminateAndWait(cdc);
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(s, t, "accounts"), "");
}

// A set added to walferry.yaml after another was loaded (by `walferry load --set`): migrate loads the new set from
// scratch, continues nothing it need not, and streams both; the configured load settings apply to it (its table is
// split by load.split_tables_larger_than).
TEST_F(Migrate, LoadsASetAddedAfterAnotherWasLoadedAndStreamsBoth) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE first_t (id int PRIMARY KEY, note text);
    CREATE TABLE added_t (id int PRIMARY KEY, pad text);
    INSERT INTO first_t SELECT g, 'f' || g FROM generate_series(1, 5000) g;
    INSERT INTO added_t SELECT g, repeat('a', 200) FROM generate_series(1, 40000) g;
  )sql");
  std::string config = WriteConfig(db, R"yaml(load:
  split_tables_larger_than: 2MB
sets:
  - name: mig_loaded_first
    tables:
      - name: public.first_t
  - name: mig_added_later
    tables:
      - name: public.added_t
)yaml");
  test::CliResult load = test::RunWalferry({"load", "-c", config, "--set", "mig_loaded_first"});
  ASSERT_EQ(load.exit_code, 0) << load.output;
  // Changes to both sets after the first was loaded: CDC carries them (the second's from its own snapshot on).
  test::Source().Psql(db, "UPDATE first_t SET note = 'changed' WHERE id <= 100; DELETE FROM added_t WHERE id <= 50;"
                          "INSERT INTO first_t VALUES (100001, 'new');");

  test::CliResult r = test::RunWalferry({"migrate", "-c", config, "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("EQUAL: 2 table(s) compared"), std::string::npos) << r.output;
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.sets WHERE load_state = 'loaded'").GetInt(0, 0), 2);
  EXPECT_GT(t.Exec("SELECT count(*) FROM walferry.load_progress WHERE set_name = 'mig_added_later'").GetInt(0, 0), 1)
      << "load.split_tables_larger_than splits added_t into parts";
  test::Source().Psql(db, "UPDATE added_t SET pad = 'late' WHERE id = 60; UPDATE first_t SET note = 'late' WHERE id = 1;");
  r = test::RunWalferry({"migrate", "-c", config, "--until-caught-up", "--no-validate"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("every set was loaded by an earlier run"), std::string::npos) << r.output;
  for (const char* table : {"first_t", "added_t"}) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
}

// Whether the target still runs a COPY in `db` (a walferry session that outlived its process would).
bool CopyRunning(pg::Connection& target, const std::string& db) {
  return target.Exec("SELECT count(*) FROM pg_stat_progress_copy WHERE datname = $1", {pg::Param(db)})
             .GetInt(0, 0) > 0;
}

// Ctrl-C (SIGINT) while a big table is being copied: the COPY is cancelled (its transaction rolls back, nothing is
// marked copied), migrate exits 130 saying how to continue, and a later migrate finishes the set.
TEST_F(Migrate, CtrlCDuringTheCopyCancelsItExits130AndALaterMigrateFinishes) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small SELECT generate_series(1, 10);
    CREATE TABLE huge (id int PRIMARY KEY, pad text);
    INSERT INTO huge SELECT g, repeat('x', 500) FROM generate_series(1, 600000) g;
  )sql");
  std::string config = WriteConfig(db, "sets:\n  - name: mig_ctrl_c\n    tables:\n      - name: public.small\n"
                                       "      - name: public.huge\n");
  std::string log = (std::filesystem::temp_directory_path() / ("walferry-" + db + ".log")).string();
  pid_t pid = test::SpawnWalferry({"migrate", "-c", config, "--until-caught-up", "--table-jobs", "2"}, false, log);
  ASSERT_GT(pid, 0);
  pg::Connection t = test::ConnectTarget(db);
  ASSERT_TRUE(test::PollUntil([&] {
    return t.Exec("SELECT count(*) FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid "
                  "WHERE c.relname = 'huge' AND p.tuples_processed > 1000").GetInt(0, 0) > 0;
  })) << "walferry never reached the copy of huge";
  // A generous deadline: a migrate that ignores Ctrl-C finishes its copy and goes on streaming.
  std::optional<int> status = test::SignalAndWait(pid, SIGINT, std::chrono::seconds(60));
  ASSERT_TRUE(status) << "walferry migrate did not stop on Ctrl-C";
  ASSERT_TRUE(WIFEXITED(*status)) << *status;
  std::string output = test::ReadWholeFile(log);
  EXPECT_EQ(WEXITSTATUS(*status), 130) << output;
  EXPECT_FALSE(CopyRunning(t, db)) << "a COPY outlived walferry";
  EXPECT_NE(output.find("load state 'loading'"), std::string::npos) << output;
  EXPECT_NE(output.find("walferry migrate"), std::string::npos) << output;
  EXPECT_NE(output.find("walferry load --resume"), std::string::npos) << output;
  EXPECT_EQ(t.Exec("SELECT count(*) FROM huge").GetInt(0, 0), 0);
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.load_progress WHERE table_name = 'huge' AND state = 'copied'")
                .GetInt(0, 0), 0);

  test::CliResult r = test::RunWalferry({"migrate", "-c", config, "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("EQUAL: 2 table(s) compared"), std::string::npos) << r.output;
  pg::Connection s = test::ConnectSource(db);
  for (const char* table : {"small", "huge"}) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
}

TEST_F(Migrate, BadConfigurationExitsTwoAndChangesNothing) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE t (id int PRIMARY KEY);");
  std::string config = WriteConfig(db, "sets:\n  - name: s1\n    tables:\n      - name: public.nosuch\n");
  test::CliResult r = test::RunWalferry({"migrate", "-c", config, "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nosuch"), std::string::npos) << r.output;
  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(s.Exec("SELECT count(*) FROM pg_publication").GetInt(0, 0), 0);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(t.Exec("SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'").GetInt(0, 0), 0);
}

}  // namespace
}  // namespace walferry
