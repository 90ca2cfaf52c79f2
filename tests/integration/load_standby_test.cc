// `walferry load --from-standby` against a REAL physical standby of the source cluster, made with
// pg_basebackup -R -X stream: two sets loaded under a live writer from the paused standby, then walferry cdc
// --until-caught-up, every table equal; the standby's replay resumed afterwards; the copy read from the standby
// and not from the source; SIGTERM mid-copy resumes replay and --resume --from-standby finishes; a URI that is not
// a standby is refused before anything changes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "common/lsn.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using test::ConnectSource;
using test::ConnectTarget;

using test::Count;

// Polled often: the paused state must be seen before a copy of about 100 MB ends.
bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(120)) {
  return test::PollUntil(done, limit, std::chrono::milliseconds(20));
}

// Transaction k of the writer: inserts into a, increments b (a change applied twice or never shows), deletes from c,
// bumps d; a and b form set "one", c and d set "two".
std::string WriterTxn(int k) {
  const std::string ks = std::to_string(k);
  return "BEGIN; INSERT INTO a VALUES (" + ks + ", 'a" + ks + "'); UPDATE b SET v = v + 1, last_k = " + ks +
         " WHERE id = " + std::to_string(k % 1000) + "; DELETE FROM c WHERE id = " + std::to_string(k - 5) +
         "; UPDATE d SET n = n + 1, k = " + ks + "; COMMIT;";
}

const char* kSchema =
    "CREATE TABLE a (id int PRIMARY KEY, note text);"
    "CREATE TABLE b (id int PRIMARY KEY, v int NOT NULL, last_k int NOT NULL, pad text);"
    "CREATE TABLE c (id int PRIMARY KEY, pad text);"
    "CREATE TABLE d (id serial PRIMARY KEY, n int NOT NULL, k int NOT NULL);"
    "INSERT INTO b SELECT g, 0, 0, repeat('b', 200) FROM generate_series(0, 200000) g;"
    "INSERT INTO c SELECT g, repeat('c', 200) FROM generate_series(-5, 200000) g;"
    "INSERT INTO d (n, k) VALUES (0, 0);";

class LoadStandby : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    standby_ = std::make_unique<localcluster::LocalCluster>(
        localcluster::LocalCluster::CreateStandby(test::Source(), "standby"));
  }
  static void TearDownTestSuite() { standby_.reset(); }
  void TearDown() override {
    test::Source().Psql("postgres",
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active;");
  }

  static localcluster::LocalCluster& Standby() { return *standby_; }

  // Waits until the standby has replayed everything the source wrote so far (e.g. a new database).
  static void WaitForStandby() {
    pg::Connection s = ConnectSource("postgres");
    Lsn now = Lsn::Parse(s.Exec("SELECT pg_current_wal_insert_lsn()::text").Get(0, 0));
    pg::Connection st = pg::Connection::Open(Standby().Uri("postgres"));
    ASSERT_TRUE(PollUntil([&] {
      auto r = st.Exec("SELECT pg_last_wal_replay_lsn()::text").GetOpt(0, 0);
      return r && !(Lsn::Parse(*r) < now);
    }));
  }

  static std::string PauseState() {
    pg::Connection st = pg::Connection::Open(Standby().Uri("postgres"));
    return std::string(st.Exec("SELECT pg_get_wal_replay_pause_state()").Get(0, 0));
  }

  static std::string WriteConfig(const std::string& db) {
    std::string path = "/tmp/walferry-" + db + ".yaml";
    std::ofstream y(path);
    y << "version: 1\nsource: \"" << test::Source().Uri(db) << "\"\ntarget: \"" << test::Target().Uri(db)
      << "\"\nsets:\n  - name: one\n    tables:\n      - name: public.a\n      - name: public.b\n"
      << "  - name: two\n    tables:\n      - name: public.c\n      - name: public.d\n";
    return path;
  }

  static void ExpectAllEqual(const std::string& db) {
    pg::Connection s = ConnectSource(db);
    pg::Connection t = ConnectTarget(db);
    for (const char* table : {"a", "b", "c", "d"}) EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  }

  // Sequential scans of `table` as counted by `cluster` (each server counts only its own reads).
  static int64_t SeqScans(const localcluster::LocalCluster& cluster, const std::string& db, const std::string& table) {
    pg::Connection c = pg::Connection::Open(cluster.Uri(db));
    c.Exec("SELECT pg_stat_clear_snapshot()");
    return Count(c, "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables WHERE relname = '" + table + "'");
  }

  static inline std::unique_ptr<localcluster::LocalCluster> standby_;
};

// A writer runs on the source during the whole load. Both sets are copied from the standby, paused once; their
// CDC start is its replay LSN. CDC then applies exactly the transactions the copy does not hold: a transaction
// applied twice or missed shows in b (v = v + 1), a (duplicate key) or c/d, and DiffTable fails.
TEST_F(LoadStandby, CopiesFromThePausedStandbyAndCdcContinuesExactly) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kSchema);
  WaitForStandby();
  std::string config = WriteConfig(db);
  const int64_t primary_scans_before = SeqScans(test::Source(), db, "b");
  const int64_t standby_scans_before = SeqScans(Standby(), db, "b");

  std::atomic<bool> stop{false};
  std::atomic<int> last{0};
  std::thread writer([&] {
    pg::Connection w = ConnectSource(db);
    for (int k = 1; !stop; ++k) {
      w.Exec(WriterTxn(k));
      last = k;
    }
  });
  while (last < 50) std::this_thread::yield();
  test::CliResult load = test::RunWalferry(
      {"-c", config, "load", "--table-jobs", "2", "--from-standby", Standby().Uri(db)});
  const int at_end = last;
  while (last < at_end + 20) std::this_thread::yield();  // changes after the load, for CDC
  stop = true;
  writer.join();
  ASSERT_EQ(load.exit_code, 0) << load.output;
  EXPECT_NE(load.output.find("copied from the standby"), std::string::npos) << load.output;
  EXPECT_NE(load.output.find("resumed WAL replay on the standby"), std::string::npos) << load.output;
  EXPECT_EQ(PauseState(), "not paused");

  // One pause for both sets: the same start LSN, at or after both slots' consistent points.
  pg::Connection t = ConnectTarget(db);
  pg::Result sets = t.Exec("SELECT DISTINCT start_lsn::text, load_state, coalesce(snapshot_name, '') FROM walferry.sets");
  ASSERT_EQ(sets.rows(), 1);
  EXPECT_EQ(sets.Get(0, 1), "loaded");
  EXPECT_EQ(sets.Get(0, 2), "");
  const Lsn start = Lsn::Parse(sets.Get(0, 0));
  pg::Connection s = ConnectSource(db);
  pg::Result slots = s.Exec("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name IN "
                            "('walferry_one', 'walferry_two')");
  ASSERT_EQ(slots.rows(), 2);
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(start < Lsn::Parse(slots.Get(i, 0)));
  // The copy of b read the standby, not the source (the writer touches b by primary key only).
  EXPECT_TRUE(PollUntil([&] { return SeqScans(Standby(), db, "b") > standby_scans_before; }, std::chrono::seconds(30)));
  EXPECT_EQ(SeqScans(test::Source(), db, "b"), primary_scans_before);
  // The writer kept writing during the load: the target holds a strict prefix of its transactions.
  const int64_t copied = Count(t, "SELECT count(*) FROM a");
  EXPECT_GT(copied, 0);
  EXPECT_LT(copied, last.load());

  test::CliResult cdc = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(cdc.exit_code, 0) << cdc.output;
  EXPECT_EQ(Count(t, "SELECT count(*) FROM a"), last.load());
  ExpectAllEqual(db);
}

// SIGTERM while the copy reads from the paused standby: walferry resumes replay before it exits (130, interrupted).
// The set is left 'loading'; --resume --from-standby starts it over (new slot, new pause) and CDC then makes every
// table equal.
TEST_F(LoadStandby, InterruptedCopyResumesReplayAndResumeFinishes) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kSchema);
  WaitForStandby();
  std::string config = WriteConfig(db);
  pid_t pid = test::SpawnWalferry({"-c", config, "load", "--table-jobs", "1", "--from-standby", Standby().Uri(db)});
  ASSERT_TRUE(PollUntil([&] { return PauseState() == "paused"; }));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << status;
  EXPECT_EQ(PauseState(), "not paused");
  pg::Connection t = ConnectTarget(db);
  EXPECT_GE(Count(t, "SELECT count(*) FROM walferry.sets WHERE load_state = 'loading'"), 1);

  pg::Connection w = ConnectSource(db);
  for (int k = 1; k <= 20; ++k) w.Exec(WriterTxn(k));
  test::CliResult load = test::RunWalferry({"-c", config, "load", "--resume", "--from-standby", Standby().Uri(db)});
  ASSERT_EQ(load.exit_code, 0) << load.output;
  EXPECT_NE(load.output.find("copied from the standby"), std::string::npos) << load.output;
  EXPECT_EQ(PauseState(), "not paused");
  for (int k = 21; k <= 40; ++k) w.Exec(WriterTxn(k));
  test::CliResult cdc = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(cdc.exit_code, 0) << cdc.output;
  EXPECT_EQ(Count(t, "SELECT count(*) FROM a"), 40);
  ExpectAllEqual(db);
}

// A --from-standby URI that is not a standby (here: the source itself) is refused before anything changes: no
// slot or publication on the source, no control schema and no table on the target, replay state untouched.
TEST_F(LoadStandby, RefusesAServerThatIsNotInRecoveryBeforeChangingAnything) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kSchema);
  std::string config = WriteConfig(db);
  test::CliResult r = test::RunWalferry({"-c", config, "load", "--from-standby", test::Source().Uri(db)});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not a standby"), std::string::npos) << r.output;
  pg::Connection s = ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication"), 0);
  pg::Connection t = ConnectTarget(db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
}

// A standby whose replay someone else paused is refused (walferry would resume it afterwards), with the fix named.
TEST_F(LoadStandby, RefusesAStandbyWhoseReplayIsAlreadyPaused) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kSchema);
  WaitForStandby();
  std::string config = WriteConfig(db);
  Standby().Psql("postgres", "SELECT pg_wal_replay_pause()");
  test::CliResult r = test::RunWalferry({"-c", config, "load", "--from-standby", Standby().Uri(db)});
  Standby().Psql("postgres", "SELECT pg_wal_replay_resume()");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("pg_wal_replay_resume()"), std::string::npos) << r.output;
  pg::Connection s = ConnectSource(db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"), 0);
}

}  // namespace
}  // namespace walferry
